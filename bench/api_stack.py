"""Shared by the API benches: a devnet, a channel seeded with records, an API process.

Not a benchmark itself. Everything runs on loopback and stops by itself.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from fishnet_stack.aleph.accounts import Account
from fishnet_stack.aleph.client import AlephClient
from fishnet_stack.devnet.config import DevnetConfig
from fishnet_stack.devnet.daemon import start_devnet, stop_devnet
from fishnet_stack.model import Dataset
from fishnet_stack.records import wire

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def devnet() -> Iterator[str]:
    """A devnet without compute node on a free port; yields its URL."""
    data_dir = Path(tempfile.mkdtemp(prefix="bench-devnet-"))
    running = start_devnet(DevnetConfig(host="127.0.0.1", port=free_port(), data_dir=data_dir,
                                        compute=False))
    try:
        yield running.url
    finally:
        stop_devnet(data_dir)


async def seed(url: str, owner: Account, channel: str, count: int, clients: int = 16) -> float:
    """Post ``count`` Dataset records for ``owner`` in ``channel``; returns seconds taken."""
    start = time.perf_counter()
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(count):
        queue.put_nowait(i)

    async def worker() -> None:
        async with AlephClient(url, owner) as aleph:
            while not queue.empty():
                i = queue.get_nowait()
                dataset = Dataset(name=f"dataset-{i}", owner=owner.address,
                                  ownsAllTimeseries=True, timeseriesIDs=[f"ts-{i}"],
                                  desc="seeded by bench", price="0")
                content = wire.create_content("Dataset", dataset.content(), owner.address,
                                              time.time())
                await aleph.submit("POST", content, channel)

    await asyncio.gather(*(worker() for _ in range(clients)))
    return time.perf_counter() - start


class ApiProcess:
    """``python -m api_app`` for ``owner``/``channel``; the owner's key is the API's key, so
    its writes need no authorisation (benches only read)."""

    def __init__(self, url: str, owner: Account, channel: str) -> None:
        self.data_dir = Path(tempfile.mkdtemp(prefix="bench-api-"))
        key = self.data_dir / "key"
        key.write_text("0x" + owner.private_key.hex() + "\n")
        os.chmod(key, 0o600)
        self.port = free_port()
        self.args = [sys.executable, "-m", "api_app", "--aleph-api", url, "--channel", channel,
                     "--owner", owner.address, "--data-dir", str(self.data_dir),
                     "--port", str(self.port)]
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120.0) -> float:
        """Start and wait for the first answer; returns seconds from spawn to ready."""
        start = time.perf_counter()
        self.process = subprocess.Popen(self.args, cwd=ROOT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"api_app exited with {self.process.returncode}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return time.perf_counter() - start
            except httpx.HTTPError:
                pass
            time.sleep(0.01)
        raise RuntimeError("api_app did not become ready")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(30)
        self.process = None


def new_channel() -> str:
    return f"BENCH-{uuid.uuid4().hex[:10]}"
