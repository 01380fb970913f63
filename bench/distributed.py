"""Distributed execution: a CPU-bound algorithm on 2 executors (2 slices) against 1 executor
holding both halves, same data, same algorithm, measured in the same run.

The algorithm burns CPU in proportion to the rows it gets, calibrated so that one slice takes
at least 5 s on one core. Target (DESIGN section 12): 2 executors >= 1.6x faster.

    python bench/distributed.py [--seconds-per-slice 6]
"""

from __future__ import annotations

import argparse
import asyncio
import time

import numpy as np
import pandas as pd

from bench.execution_overhead import execute
from bench.local_stack import LocalStack, local_stack

BURN = """
def run(df, params):
    spins = int(len(df) * params["spins_per_row"])
    total = 0
    for i in range(spins):
        total += i & 7
    return {"rows": len(df), "spun": total}

def aggregate(partials, params):
    return {"rows": sum(p["rows"] for p in partials)}
"""
ROWS = 2 * 5000
CUT = "2020-01-01T00:00:00+00:00"


def spins_per_second() -> float:
    """How fast this machine runs BURN's loop on one core."""
    spins, total = 5_000_000, 0
    start = time.perf_counter()
    for i in range(spins):
        total += i & 7
    return spins / (time.perf_counter() - start)


def frame() -> pd.DataFrame:
    index = pd.date_range(end=CUT, periods=ROWS // 2, freq="h", tz="UTC").append(
        pd.date_range(start=CUT, periods=ROWS // 2, freq="h", tz="UTC"))
    return pd.DataFrame({"x": np.arange(ROWS, dtype=float)}, index=index)


async def run_once(stack: LocalStack, spins_per_row: float) -> float:
    wallet = stack.wallet()
    data = frame()
    created = await wallet.ok("PUT", "/timeseries", {"timeseries": [{"name": "x", "data": [
        [int(t.timestamp()), float(v)] for t, v in data["x"].items()]}]})
    dataset = await wallet.ok("PUT", "/datasets", {
        "name": "burn", "timeseriesIDs": [created[0]["item_hash"]], "price": "0"})
    algorithm = await wallet.ok("PUT", "/algorithms", {"name": "burn", "desc": "cpu",
                                                       "code": BURN})
    return await execute(wallet, algorithm["item_hash"], dataset["item_hash"],
                         {"spins_per_row": spins_per_row})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds-per-slice", type=float, default=6.0)
    args = parser.parse_args()
    rate = spins_per_second()
    spins_per_row = rate * args.seconds_per_slice / (ROWS // 2)
    with local_stack([CUT]) as two:
        distributed = asyncio.run(run_once(two, spins_per_row))
    with local_stack([]) as one:
        single = asyncio.run(run_once(one, spins_per_row))
    print(f"work: {args.seconds_per_slice:.1f} s of CPU per slice on one core "
          f"({rate / 1e6:.1f} M loop steps/s)")
    print(f"baseline: 1 executor holding both slices {single:.2f} s")
    print(f"distributed: 2 executors {distributed:.2f} s, {single / distributed:.2f}x faster "
          "(target >= 1.6x)")


if __name__ == "__main__":
    main()
