"""plan at scale: a stack of 200 executors against a node holding those 200 programs and 10,000
unrelated messages.

Prints the plan time (read the network state + diff; and with the archive builds, as the CLI
does) against the time of one ``messages.json`` query in the same run, and how many messages a
no-op apply sends. Runs a ``--no-compute`` devnet: no VM boots, so the first apply takes VM
addresses from a stand-in instead of ``/identity``.

Targets (DESIGN section 12): plan <= 2 s; no-op apply sends 0 messages.

    python bench/plan_scale.py [--executors 200] [--noise 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import socket
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from fishnet_stack.aleph.accounts import Account
from fishnet_stack.aleph.client import AlephClient
from fishnet_stack.deploy import operations as ops
from fishnet_stack.devnet.config import DevnetConfig
from fishnet_stack.devnet.daemon import start_devnet, stop_devnet

FIXTURE_APP = Path(__file__).resolve().parents[1] / "tests" / "deploy" / "fixture_app" / \
    "fixture_app"
CLIENTS = 16


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stack_file(directory: Path, executors: int) -> Path:
    start = datetime(2000, 1, 1, tzinfo=UTC)
    bounds = [(start + timedelta(days=30 * i)).strftime("%Y-%m-%dT%H:%M:%SZ")
              for i in range(1, executors)]
    slices = [f"    - {{end: '{bounds[0]}'}}"]
    slices += [f"    - {{start: '{a}', end: '{b}'}}" for a, b in zip(bounds, bounds[1:],
                                                                   strict=False)]
    slices += [f"    - {{start: '{bounds[-1]}'}}"]
    text = "\n".join([
        "stack: bench", "network: devnet", "channel: BENCH_PLAN", "owner: {key_file: owner.key}",
        "versions: {api: 0.1.0, executor: 0.1.0}", "api: {instances: 1}",
        "executors:", "  resources: {vcpus: 1, memory: 128, seconds: 30}", "  timeslices:",
        *slices, "apps:",
        f"  api: {{path: {FIXTURE_APP}, factory: 'fixture_app:create_app'}}",
        f"  executor: {{path: {FIXTURE_APP}, factory: 'fixture_app:create_app'}}", ""])
    path = directory / "stack.yaml"
    path.write_text(text)
    return path


async def fake_identities(hashes: list[str], roles: list[str]) -> dict[str, str]:
    return {h: "0x" + hashlib.sha256(h.encode()).hexdigest()[:40] for h in hashes}


async def noise(url: str, total: int) -> None:
    """``total`` POSTs from other accounts in another channel, 16 clients at a time."""
    async def client(count: int) -> None:
        async with AlephClient(url, Account.generate()) as aleph:
            for i in range(count):
                await aleph.submit("POST", {"type": "noise", "content": {"i": i}}, "NOISE")
    await asyncio.gather(*(client(total // CLIENTS) for _ in range(CLIENTS)))


def count_messages(url: str) -> int:
    response = httpx.get(f"{url}/api/v0/messages.json", params={"pagination": "1"}, timeout=30)
    return int(response.json()["pagination_total"])


def one_query(url: str) -> float:
    start = time.perf_counter()
    response = httpx.get(f"{url}/api/v0/messages.json", params={"pagination": "200"},
                         timeout=30)
    response.raise_for_status()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executors", type=int, default=200)
    parser.add_argument("--noise", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-plan-") as scratch:
        root = Path(scratch)
        config = DevnetConfig(port=free_port(), data_dir=root / "devnet", compute=False)
        os.environ["FISHNET_DEVNET_DIR"] = str(config.data_dir)
        os.environ["FISHNET_DEVNET_PORT"] = str(config.port)
        start_devnet(config)
        try:
            target = ops.open_target(stack_file(root, args.executors))
            built = ops.build_artifacts(target)
            started = time.perf_counter()
            first = asyncio.run(ops.make_plan(target, built))
            result = asyncio.run(ops.apply(target, first, built, identities=fake_identities))
            print(f"setup: deployed {len(first.programs)} programs in "
                  f"{time.perf_counter() - started:.1f} s ({result.sent} messages)")
            started = time.perf_counter()
            asyncio.run(noise(config.url, args.noise))
            print(f"setup: {args.noise} unrelated POSTs in {time.perf_counter() - started:.1f} s"
                  f"; node holds {count_messages(config.url)} messages")

            baseline = statistics.median(one_query(config.url) for _ in range(5))
            plans, full = [], []
            for _ in range(5):
                started = time.perf_counter()
                plan = asyncio.run(ops.make_plan(target, built))
                plans.append(time.perf_counter() - started)
                started = time.perf_counter()
                plan = asyncio.run(ops.make_plan(target, ops.build_artifacts(target)))
                full.append(time.perf_counter() - started)
            assert not plan.has_changes, [c.to_json() for c in plan.changes]
            before = count_messages(config.url)
            noop = asyncio.run(ops.apply(target, plan, built))
            sent = count_messages(config.url) - before

            plan_s, full_s = statistics.median(plans), statistics.median(full)
            print(f"one messages.json query (200 per page): {baseline * 1000:.1f} ms")
            print(f"plan, {args.executors} executors (state read + diff): {plan_s:.3f} s "
                  f"= {plan_s / baseline:.0f}x one query  [target <= 2 s]")
            print(f"plan including both archive builds (as the CLI): {full_s:.3f} s "
                  f"= {full_s / baseline:.0f}x one query")
            print(f"no-op apply: {noop.sent} messages sent by apply, {sent} new on the node "
                  "[target 0]")
        finally:
            stop_devnet(config.data_dir)


if __name__ == "__main__":
    main()
