"""Fixtures shared by every test: free loopback ports, devnet nodes, accounts and SDK clients.

One devnet serves the whole session (``devnet``); tests that need a node of their own (restarts,
fault injection) take ``make_devnet``. Tests sharing the session node stay independent by using
fresh random accounts and a unique channel each.
"""

from __future__ import annotations

import os
import signal
import socket
import time
import uuid
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from aleph.sdk.chains.ethereum import ETHAccount
from aleph.sdk.client import AuthenticatedAlephHttpClient

from fishnet_stack.devnet.config import DevnetConfig
from fishnet_stack.devnet.daemon import RunningDevnet, find_devnet, start_devnet, stop_devnet


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # an exited child that nobody reaped yet is not alive
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][:1] != "Z"
    except (OSError, IndexError):
        return True


class DevnetHandle:
    """A devnet process this test session started; can be stopped and started again."""

    def __init__(self, config: DevnetConfig) -> None:
        self.config = config
        self.running: RunningDevnet | None = None

    @property
    def url(self) -> str:
        return self.config.url

    @property
    def port(self) -> int:
        return self.config.port

    @property
    def data_dir(self) -> Path:
        return self.config.data_dir

    @property
    def log_path(self) -> Path:
        return self.data_dir / "devnet.log"

    def start(self) -> None:
        """Start the node on this handle's port and data dir; returns once it answers."""
        self.running = start_devnet(self.config)

    def stop(self) -> None:
        """Stop the node; falls back to signalling the pid we started if its pid file is gone."""
        running, self.running = self.running, None
        stop_devnet(self.data_dir)
        if running is None or not _pid_alive(running.pid):
            return
        # The pid file was missing or stale: end the process we started, by its id only.
        os.kill(running.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and _pid_alive(running.pid):
            time.sleep(0.05)
        if _pid_alive(running.pid):
            os.killpg(running.pid, signal.SIGKILL)

    def restart(self) -> None:
        self.stop()
        assert find_devnet(self.data_dir) is None, "the devnet still runs after stop"
        self.start()

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def _warn_on_tracebacks(handle: DevnetHandle) -> None:
    try:
        log = handle.log_path.read_text(errors="replace")
    except OSError:
        return
    if "Traceback" in log:
        warnings.warn(
            f"the devnet at {handle.url} logged a traceback; see {handle.log_path}:\n"
            f"{handle.log_tail()}",
            stacklevel=1,
        )


@pytest.fixture(scope="session")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevnetHandle]:
    """The devnet shared by the whole session (compute node on), on a free loopback port."""
    config = DevnetConfig(
        host="127.0.0.1", port=free_port(), data_dir=tmp_path_factory.mktemp("devnet-shared"),
    )
    handle = DevnetHandle(config)
    handle.start()
    yield handle
    handle.stop()
    _warn_on_tracebacks(handle)


MakeDevnet = Callable[..., DevnetHandle]


@pytest.fixture
def make_devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MakeDevnet]:
    """Start a devnet of the test's own: ``make_devnet(fail_rate=0.5, compute=False, ...)``.

    Every node it started is stopped when the test ends, whatever happened.
    """
    started: list[DevnetHandle] = []

    def _make(**overrides: Any) -> DevnetHandle:
        base = DevnetConfig(
            host="127.0.0.1", port=free_port(), data_dir=tmp_path_factory.mktemp("devnet-own"),
        )
        handle = DevnetHandle(replace(base, **overrides))
        started.append(handle)
        handle.start()
        return handle

    yield _make
    for handle in started:
        handle.stop()
        _warn_on_tracebacks(handle)


def new_account() -> ETHAccount:
    """A fresh random Ethereum account (no chain: signing only)."""
    return ETHAccount(os.urandom(32))


@pytest.fixture
def account() -> ETHAccount:
    return new_account()


@pytest.fixture
def channel() -> str:
    """A channel no other test uses."""
    return f"TEST-{uuid.uuid4().hex[:16]}"


Connect = Callable[..., Awaitable[AuthenticatedAlephHttpClient]]


@pytest.fixture
async def connect(devnet: DevnetHandle) -> AsyncIterator[Connect]:
    """Open an SDK client: ``await connect(account=None, url=None)`` (fresh account, shared node).

    Clients are closed when the test ends.
    """
    opened: list[AuthenticatedAlephHttpClient] = []

    async def _connect(
        account: ETHAccount | None = None, url: str | None = None
    ) -> AuthenticatedAlephHttpClient:
        client = AuthenticatedAlephHttpClient(
            account or new_account(), api_server=url or devnet.url
        )
        await client.__aenter__()
        opened.append(client)
        return client

    yield _connect
    for client in opened:
        await client.__aexit__(None, None, None)


@pytest.fixture
async def client(connect: Connect, account: ETHAccount) -> AuthenticatedAlephHttpClient:
    """An SDK client of the shared devnet, signing as ``account``."""
    return await connect(account)


@pytest.fixture
async def http(devnet: DevnetHandle) -> AsyncIterator[httpx.AsyncClient]:
    """A raw HTTP client of the shared devnet, for what the SDK cannot send (malformed input)."""
    async with httpx.AsyncClient(base_url=devnet.url, timeout=30) as raw:
        yield raw
