"""Helpers of the executor tests: a dataset, an execution run to its end, frame comparison."""

from __future__ import annotations

import asyncio
import io
import json
import time
from typing import Any

import httpx
import numpy as np
import pandas as pd

from tests.api.conftest import Wallet
from tests.executor.conftest import Deployment

INDEX = pd.date_range("2019-10-01", "2020-03-31", freq="D", tz="UTC")
RNG = np.random.default_rng(7)
FULL = pd.DataFrame({"btc": 100 + RNG.standard_normal(len(INDEX)).cumsum(),
                     "eth": 50 + RNG.standard_normal(len(INDEX)).cumsum()}, index=INDEX)
# A point exactly on the slice boundary must be counted once.
assert pd.Timestamp("2020-01-01", tz="UTC") in FULL.index


async def dataset(owner: Wallet, frame: pd.DataFrame) -> str:
    points = {name: [[int(t.timestamp()), float(v)] for t, v in frame[name].items()]
              for name in frame.columns}
    created = await owner.ok("PUT", "/timeseries", {"timeseries": [
        {"name": name, "data": data} for name, data in points.items()]})
    ids = [t["item_hash"] for t in created]
    made = await owner.ok("PUT", "/datasets", {"name": "crypto", "timeseriesIDs": ids,
                                                "price": "0"})
    return str(made["item_hash"])


async def execute(deployment: Deployment, owner: Wallet, dataset_id: str, code: str,
                  params: dict[str, Any] | None = None, expect: str = "SUCCESS") -> Any:
    algorithm = await owner.ok("PUT", "/algorithms", {"name": "a", "desc": "test",
                                                      "code": code})
    answer = await owner.ok("POST", "/executions", {"algorithmID": algorithm["item_hash"],
                                                    "datasetID": dataset_id,
                                                    "params": params or {}})
    execution_id = answer["execution"]["item_hash"]
    assert answer["execution"]["status"] == "PENDING", answer
    deadline = time.monotonic() + 120
    while True:
        found = await owner.ok("GET", f"/executions/{execution_id}")
        if found["status"] in ("SUCCESS", "FAILED"):
            break
        assert time.monotonic() < deadline, f"execution stuck in {found['status']}"
        await _pause()
    assert found["status"] == expect, found
    if expect != "SUCCESS":
        return found
    result = await owner.ok("GET", f"/executions/{execution_id}/result")
    raw = httpx.get(f"{deployment.devnet.url}/api/v0/storage/raw/{result['dataHash']}").content
    if result["kind"] in ("dataframe", "series"):
        frame = pd.read_parquet(io.BytesIO(raw))
        return frame.iloc[:, 0] if result.get("kind") == "series" else frame
    return json.loads(raw)


def same_frame(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Equal values on equal instants (chunks store ns timestamps; pandas 3 defaults to us)."""
    got, expected = got.copy(), expected.copy()
    got.index = pd.DatetimeIndex(got.index).as_unit("ns").rename(None)
    expected.index = pd.DatetimeIndex(expected.index).as_unit("ns").rename(None)
    pd.testing.assert_frame_equal(got, expected, check_freq=False, rtol=1e-9)


async def _pause() -> None:
    await asyncio.sleep(0.2)
