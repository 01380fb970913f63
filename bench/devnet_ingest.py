"""devnet ingest: signed POSTs accepted through aleph-sdk with ``sync=True``.

Prints messages/s with 16 concurrent clients and the p50 latency of one client posting in
sequence, against the baseline of bare signature verification (what the node must do per
message at the very least) measured in the same run.

Targets (DESIGN section 12): >= 300 messages/s concurrent, p50 <= 10 ms sequential.

    python bench/devnet_ingest.py [--messages 2000] [--sequential 300]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import tempfile
import time
from pathlib import Path

from aleph.sdk.chains.ethereum import ETHAccount
from aleph.sdk.client import AuthenticatedAlephHttpClient

from fishnet_stack.aleph.signing import sign_text, verify_text
from fishnet_stack.devnet.config import DevnetConfig
from fishnet_stack.devnet.daemon import start_devnet, stop_devnet

CLIENTS = 16


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def verification_baseline(count: int) -> float:
    """Bare EIP-191 verifications per second (one core)."""
    key = os.urandom(32)
    from fishnet_stack.aleph.signing import private_key_address

    address = private_key_address(key)
    texts = [f"ETH\n{address}\nPOST\n{os.urandom(32).hex()}" for _ in range(count)]
    signatures = [sign_text(key, t) for t in texts]
    start = time.perf_counter()
    for text, sig in zip(texts, signatures, strict=True):
        assert verify_text(sig, address, text)
    return count / (time.perf_counter() - start)


async def concurrent(url: str, total: int) -> float:
    per_client = total // CLIENTS

    async def client() -> None:
        account = ETHAccount(os.urandom(32))
        async with AuthenticatedAlephHttpClient(account, api_server=url) as aleph:
            for i in range(per_client):
                await aleph.create_post({"i": i}, post_type="bench", channel="BENCH", sync=True)

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    return per_client * CLIENTS / (time.perf_counter() - start)


async def sequential(url: str, count: int) -> list[float]:
    account = ETHAccount(os.urandom(32))
    latencies = []
    async with AuthenticatedAlephHttpClient(account, api_server=url) as aleph:
        for i in range(count):
            start = time.perf_counter()
            await aleph.create_post({"i": i}, post_type="bench", channel="BENCH", sync=True)
            latencies.append(time.perf_counter() - start)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--sequential", type=int, default=300)
    args = parser.parse_args()

    baseline = verification_baseline(2000)
    with tempfile.TemporaryDirectory() as tmp:
        config = DevnetConfig(port=free_port(), data_dir=Path(tmp), compute=False)
        running = start_devnet(config)
        try:
            asyncio.run(sequential(running.url, 20))  # warm up connections and caches
            rate = asyncio.run(concurrent(running.url, args.messages))
            latencies = asyncio.run(sequential(running.url, args.sequential))
        finally:
            stop_devnet(config.data_dir)
    p50 = statistics.median(latencies) * 1000
    p99 = sorted(latencies)[int(len(latencies) * 0.99) - 1] * 1000
    print(f"baseline: bare signature verification {baseline:,.0f} verifications/s (one core)")
    print(f"concurrent: {rate:,.0f} messages/s with {CLIENTS} clients "
          f"(target >= 300; {rate / baseline:.3f} of bare verification; "
          f"{rate / 98:.1f}x a real pyaleph node's 98/s)")
    print(f"sequential: p50 {p50:.2f} ms, p99 {p99:.2f} ms over {len(latencies)} posts "
          f"(target p50 <= 10 ms; {p50 * baseline / 1000:.0f}x one bare verification)")


if __name__ == "__main__":
    main()
