"""Execution overhead: 10 timeseries x 1,000,000 points, mean via sums and counts.

Request -> final result through the API and two executors (two slices), on warm executors
(chunks cached, sandbox warm), against the same pandas work on local Parquet files measured in
the same run. The cold figure (first execution: chunks downloaded, sandbox started) is reported
too. Target (DESIGN section 12): warm <= 3x the local pandas time.

    python bench/execution_overhead.py [--series 10] [--points 1000000] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.local_stack import LocalStack, Wallet, local_stack
from tests.executor.test_execution_e2e import MEAN  # the algorithm the tests check


def make_frame(series: int, points: int) -> pd.DataFrame:
    rng = np.random.default_rng(42)
    index = pd.date_range("2018-01-01", periods=points, freq="min", tz="UTC")
    return pd.DataFrame({f"s{i}": 100 + rng.standard_normal(points).cumsum()
                         for i in range(series)}, index=index)


def local_baseline(frame: pd.DataFrame, runs: int) -> float:
    """The same work on local Parquet: read every series' file, sums and counts, mean."""
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for column in frame.columns:
            path = Path(tmp) / f"{column}.parquet"
            frame[[column]].to_parquet(path)
            paths.append(path)
        timings = []
        for _ in range(runs):
            start = time.perf_counter()
            df = pd.concat([pd.read_parquet(p) for p in paths], axis=1)
            sums, counts = df.sum(), df.count()
            _ = (sums / counts).to_dict()
            timings.append(time.perf_counter() - start)
    return statistics.median(timings)


async def upload(wallet: Wallet, frame: pd.DataFrame) -> list[str]:
    ids = []
    for column in frame.columns:
        table = frame[[column]].rename_axis("timestamp").reset_index()
        buffer = io.BytesIO()
        table.to_parquet(buffer)
        request = wallet.http.build_request(
            "POST", "/timeseries/upload", files={"file": (f"{column}.parquet", buffer.getvalue())})
        body = request.read()
        headers = wallet.headers("POST", "/timeseries/upload", body)
        response = await wallet.http.post("/timeseries/upload", content=body, headers={
            **headers, "content-type": request.headers["content-type"]}, timeout=600)
        assert response.status_code < 300, response.text
        ids += [t["item_hash"] for t in response.json()]
    return ids


async def execute(wallet: Wallet, algorithm_id: str, dataset_id: str,
                  params: dict[str, Any] | None = None) -> float:
    """Seconds from the execution request to its final result."""
    start = time.perf_counter()
    answer = await wallet.ok("POST", "/executions", {"algorithmID": algorithm_id,
                                                     "datasetID": dataset_id,
                                                     "params": params or {}})
    execution_id = answer["execution"]["item_hash"]
    while True:
        found = await wallet.ok("GET", f"/executions/{execution_id}")
        if found["status"] in ("SUCCESS", "FAILED"):
            break
        await asyncio.sleep(0.02)
    assert found["status"] == "SUCCESS", found
    await wallet.ok("GET", f"/executions/{execution_id}/result")
    return time.perf_counter() - start


async def measure(stack: LocalStack, frame: pd.DataFrame, runs: int) -> dict[str, Any]:
    wallet = stack.wallet()
    started = time.perf_counter()
    ids = await upload(wallet, frame)
    uploaded = time.perf_counter() - started
    dataset = await wallet.ok("PUT", "/datasets", {"name": "bench", "timeseriesIDs": ids,
                                                    "price": "0"})
    algorithm = await wallet.ok("PUT", "/algorithms", {"name": "mean", "desc": "mean",
                                                       "code": MEAN})
    cold = await execute(wallet, algorithm["item_hash"], dataset["item_hash"])
    warm = [await execute(wallet, algorithm["item_hash"], dataset["item_hash"])
            for _ in range(runs)]
    return {"upload": uploaded, "cold": cold, "warm": statistics.median(warm)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", type=int, default=10)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    frame = make_frame(args.series, args.points)
    middle = frame.index[len(frame) // 2].isoformat()
    baseline = local_baseline(frame, args.runs)
    with local_stack([middle]) as stack:
        figures = asyncio.run(measure(stack, frame, args.runs))
    print(f"data: {args.series} series x {args.points:,} points "
          f"(uploaded in {figures['upload']:.1f} s)")
    print(f"baseline: local pandas on Parquet {baseline:.3f} s")
    print(f"warm: {figures['warm']:.3f} s request -> result, "
          f"{figures['warm'] / baseline:.2f}x the baseline (target <= 3x)")
    print(f"cold: {figures['cold']:.3f} s, {figures['cold'] / baseline:.2f}x the baseline")


if __name__ == "__main__":
    main()
