"""Fixtures of the executor tests: a devnet, one API process and executor processes, all real.

The stack's slices are cut at :data:`CUT` (2020-01-01): executor 0 owns ``(-, CUT)``, executor
1 owns ``[CUT, -)``. Every VM key is authorised by the owner, as ``apply`` would do.
"""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from fishnet_stack.aleph.accounts import Account
from fishnet_stack.vm import VmIdentity
from tests.api.conftest import ApiProcess, Wallet, authorize
from tests.conftest import DevnetHandle, free_port
from tests.processes import AppProcess

ROOT = Path(__file__).resolve().parents[2]
CUT = "2020-01-01T00:00:00+00:00"
RELEASE = 3  # what tests.api.conftest.ApiProcess stamps


@dataclass
class ExecutorProcess(AppProcess):
    """One ``python -m executor_app`` process; ``start`` returns once it answers ``/health``."""

    devnet_url: str
    channel: str
    owner: str
    start_at: str
    end_at: str
    data_dir: Path
    release: int = RELEASE
    run_seconds: int = 30
    # Generous: the suite runs on two busy cores, where a claim can take a second from being
    # stamped to being processed (the app's default is 0.3 s).
    claim_settle: float = 1.5
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    name = "executor"

    @property
    def address(self) -> str:
        return VmIdentity.load_or_create(self.data_dir).address

    def command(self) -> list[str]:
        return ["-m", "executor_app", "--aleph-api", self.devnet_url, "--channel", self.channel,
                "--owner", self.owner, "--start", self.start_at, "--end", self.end_at,
                "--release", str(self.release), "--data-dir", str(self.data_dir),
                "--port", str(self.port), "--scan-interval", "0.5", "--log-level", "info"]

    def environment(self) -> dict[str, str]:
        return {"FISHNET_RUN_SECONDS": str(self.run_seconds),
                "FISHNET_CLAIM_SETTLE": str(self.claim_settle)}


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


def launch(devnet: DevnetHandle, base: Path, executors: list[tuple[int, int, int]],
           prefix: str = "EXEC") -> Deployment:
    """An owner, a channel, an API and executors ``(slice index, release, run seconds)``, all
    authorised and started."""
    owner = Account.generate()
    channel = f"{prefix}-{uuid.uuid4().hex[:12]}"
    api = ApiProcess(devnet.url, channel, owner.address, base / "api", slices=CUT)
    made = [make_executor(devnet, owner, channel, index, base / f"executor-{n}",
                          release=release, run_seconds=seconds)
            for n, (index, release, seconds) in enumerate(executors)]
    asyncio.run(authorize(devnet.url, owner, [api.address, *(e.address for e in made)],
                          channel))
    api.start()
    for executor in made:
        executor.start()
    return Deployment(devnet, owner, channel, api, made)


def shut_down(deployment: Deployment) -> None:
    for executor in deployment.executors:
        executor.stop()
    deployment.api.stop()


@pytest.fixture(scope="module")
def deployment(devnet: DevnetHandle,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    made = launch(devnet, tmp_path_factory.mktemp("deployment"),
                  [(0, RELEASE, 30), (1, RELEASE, 30)])
    yield made
    shut_down(made)
