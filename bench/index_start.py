"""index start: API start-up to ready with 10,000 records in the channel.

Prints seconds from spawning ``python -m api_app`` to its first answer with the index built,
against the baseline of the same start with an empty channel (interpreter, imports, key,
lifespan) measured in the same run, and the ratio.

Target (DESIGN section 12): <= 5 s.

    python -m bench.index_start [--records 10000] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics

import httpx

from bench.api_stack import ApiProcess, devnet, new_channel, seed
from fishnet_stack.aleph.accounts import Account


def start_times(url: str, owner: Account, channel: str, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        api = ApiProcess(url, owner, channel)
        try:
            times.append(api.start())
        finally:
            api.stop()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with devnet() as url:
        owner = Account.generate()
        empty, full = new_channel(), new_channel()
        seconds = asyncio.run(seed(url, owner, full, args.records))
        print(f"seeded {args.records} records in {seconds:.1f} s")
        baseline = statistics.median(start_times(url, owner, empty, args.runs))
        loaded = start_times(url, owner, full, args.runs)
        api = ApiProcess(url, owner, full)
        api.start()
        try:
            listed = httpx.get(f"{api.url}/datasets", params={"page_size": "1"}).json()
            assert listed and listed[0]["name"].startswith("dataset-"), listed
        finally:
            api.stop()
    figure = statistics.median(loaded)
    print(f"index start, {args.records} records: median {figure:.2f} s "
          f"(runs: {', '.join(f'{t:.2f}' for t in loaded)}); target <= 5 s")
    print(f"baseline, empty channel: {baseline:.2f} s; ratio {figure / baseline:.2f}x; "
          f"index build itself ~{figure - baseline:.2f} s")


if __name__ == "__main__":
    main()
