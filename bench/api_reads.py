"""API reads: ``GET /datasets?page_size=20`` with 10,000 datasets indexed, one worker, direct.

Load comes from another process: ``wrk`` when installed (``apt-get install -y wrk``), else a
multi-process Python client. Prints requests/s and p99 latency, against the same server's
``GET /health`` (answered in front of the app) measured in the same run, and the ratios.

Targets (DESIGN section 12): >= 1,000 req/s, p99 <= 50 ms.

    python -m bench.api_reads [--records 10000] [--seconds 10] [--connections 16]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import re
import shutil
import subprocess
import time

import httpx

from bench.api_stack import ApiProcess, devnet, new_channel, seed
from fishnet_stack.aleph.accounts import Account

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def with_wrk(url: str, seconds: int, connections: int) -> tuple[float, float]:
    """(requests/s, p99 ms) measured by wrk with one thread (the server has the other core)."""
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url],
                         check=True, capture_output=True, text=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    return rate, float(value) * _UNITS[unit]


def _client(url: str, seconds: float, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    latencies = []
    with httpx.Client(timeout=10) as http:
        end = time.perf_counter() + seconds
        while (now := time.perf_counter()) < end:
            assert http.get(url).status_code == 200
            latencies.append((time.perf_counter() - now) * 1000)
    queue.put(latencies)


def with_python(url: str, seconds: int, connections: int) -> tuple[float, float]:
    """(requests/s, p99 ms) from ``connections`` client processes, one connection each."""
    queue: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    workers = [multiprocessing.Process(target=_client, args=(url, seconds, queue))
               for _ in range(connections)]
    for worker in workers:
        worker.start()
    latencies = sorted(x for _ in workers for x in queue.get())
    for worker in workers:
        worker.join()
    return len(latencies) / seconds, latencies[int(len(latencies) * 0.99)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    measure = with_wrk if shutil.which("wrk") else with_python
    with devnet() as url:
        owner = Account.generate()
        channel = new_channel()
        took = asyncio.run(seed(url, owner, channel, args.records))
        print(f"seeded {args.records} datasets in {took:.1f} s; load by {measure.__name__}")
        api = ApiProcess(url, owner, channel)
        api.start()
        try:
            page = httpx.get(f"{api.url}/datasets", params={"page_size": "20"}).json()
            assert len(page) == 20, page
            health = measure(f"{api.url}/health", args.seconds, args.connections)
            reads = measure(f"{api.url}/datasets?page_size=20", args.seconds, args.connections)
        finally:
            api.stop()
    print(f"GET /datasets?page_size=20: {reads[0]:.0f} req/s, p99 {reads[1]:.1f} ms "
          "(targets >= 1000 req/s, p99 <= 50 ms)")
    print(f"baseline GET /health: {health[0]:.0f} req/s, p99 {health[1]:.1f} ms; "
          f"ratio {reads[0] / health[0]:.2f}x throughput, {reads[1] / health[1]:.2f}x p99")


if __name__ == "__main__":
    main()
