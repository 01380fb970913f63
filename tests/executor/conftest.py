"""Fixtures of the executor tests: a devnet, one API process and executor processes, all real.

The stack's slices are cut at :data:`CUT` (2020-01-01): executor 0 owns ``(-, CUT)``, executor
1 owns ``[CUT, -)``. Every VM key is authorised by the owner, as ``apply`` would do.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from fishnet_stack.aleph.accounts import Account
from fishnet_stack.vm import VmIdentity
from tests.api.conftest import ApiProcess, Wallet, authorize
from tests.conftest import DevnetHandle, free_port

ROOT = Path(__file__).resolve().parents[2]
CUT = "2020-01-01T00:00:00+00:00"
RELEASE = 3  # what tests.api.conftest.ApiProcess stamps


@dataclass
class ExecutorProcess:
    """One ``python -m executor_app`` process; ``start`` returns once it answers ``/health``."""

    devnet_url: str
    channel: str
    owner: str
    start_at: str
    end_at: str
    data_dir: Path
    release: int = RELEASE
    run_seconds: int = 30
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def address(self) -> str:
        return VmIdentity.load_or_create(self.data_dir).address

    @property
    def log(self) -> Path:
        return self.data_dir.parent / f"executor-{self.port}.log"

    def start(self, timeout: float = 60.0) -> None:
        with self.log.open("ab") as sink:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "executor_app", "--aleph-api", self.devnet_url,
                 "--channel", self.channel, "--owner", self.owner, "--start", self.start_at,
                 "--end", self.end_at, "--release", str(self.release),
                 "--data-dir", str(self.data_dir), "--port", str(self.port),
                 "--scan-interval", "0.5", "--log-level", "info"],
                cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True,
                env={**os.environ, "FISHNET_RUN_SECONDS": str(self.run_seconds)})
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"executor exited with {self.process.returncode}; see "
                                   f"{self.log}:\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"executor did not answer within {timeout} s; see {self.log}")
            time.sleep(0.05)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, sig)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


@dataclass
class Deployment:
    devnet: DevnetHandle
    owner: Account
    channel: str
    api: ApiProcess
    executors: list[ExecutorProcess]

    def wallet(self, account: Account | None = None) -> Wallet:
        return Wallet(self.api.url, account)


def make_executor(devnet: DevnetHandle, owner: Account, channel: str, index: int,
                  directory: Path, release: int = RELEASE,
                  run_seconds: int = 30) -> ExecutorProcess:
    start, end = ("", CUT) if index == 0 else (CUT, "")
    return ExecutorProcess(devnet.url, channel, owner.address, start, end, directory,
                           release=release, run_seconds=run_seconds)


@pytest.fixture(scope="module")
def deployment(devnet: DevnetHandle,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    owner = Account.generate()
    channel = f"EXEC-{uuid.uuid4().hex[:12]}"
    base = tmp_path_factory.mktemp("deployment")
    api = ApiProcess(devnet.url, channel, owner.address, base / "api", slices=CUT)
    executors = [make_executor(devnet, owner, channel, i, base / f"executor-{i}")
                 for i in range(2)]
    asyncio.run(authorize(devnet.url, owner, [api.address, *(e.address for e in executors)],
                          channel))
    api.start()
    for executor in executors:
        executor.start()
    yield Deployment(devnet, owner, channel, api, executors)
    for executor in executors:
        executor.stop()
    api.stop()
