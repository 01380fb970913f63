"""Fixtures of the API tests: real ``python -m api_app`` processes against the session devnet.

Each test module gets its own channel, stack owner and API process (``api``); wallets sign
requests exactly as DESIGN section 6.4 says (:class:`Wallet`).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from api_app.auth import request_text
from fishnet_stack.aleph.accounts import Account
from fishnet_stack.aleph.client import AlephClient
from fishnet_stack.vm import VmIdentity
from tests.conftest import DevnetHandle, free_port
from tests.processes import AppProcess

ROOT = Path(__file__).resolve().parents[2]


async def authorize(devnet_url: str, owner: Account, delegates: list[str],
                    channel: str) -> None:
    """``owner`` authorises ``delegates`` to post POST/STORE for it in ``channel``."""
    async with AlephClient(devnet_url, owner) as aleph:
        await aleph.submit("AGGREGATE", {"key": "security", "content": {"authorizations": [
            {"address": d, "channels": [channel], "types": ["POST", "STORE"]}
            for d in delegates]}}, channel)


@dataclass
class ApiProcess(AppProcess):
    """One ``python -m api_app`` process; ``start`` returns once it answers ``/health``."""

    devnet_url: str
    channel: str
    owner: str
    data_dir: Path
    slices: str = ""
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    name = "api"

    @property
    def address(self) -> str:
        """The API's VM address (its key is created here if the process has not run yet)."""
        return VmIdentity.load_or_create(self.data_dir).address

    def command(self) -> list[str]:
        return ["-m", "api_app", "--aleph-api", self.devnet_url, "--channel", self.channel,
                "--owner", self.owner, "--data-dir", str(self.data_dir), "--port",
                str(self.port), "--slices", self.slices, "--release", "3",
                "--log-level", "info"]


class Wallet:
    """A user of the API: signs each request with its own key (DESIGN section 6.4)."""

    def __init__(self, base_url: str, account: Account | None = None) -> None:
        self.account = account or Account.generate()
        self.http = httpx.AsyncClient(base_url=base_url, timeout=60)
        self._last: dict[tuple[str, str, bytes], int] = {}

    @property
    def address(self) -> str:
        return self.account.address

    def headers(self, method: str, path: str, body: bytes,
                timestamp: int | None = None) -> dict[str, str]:
        if timestamp is None:
            # The same request signed twice in one second is a replay: use the next second.
            key = (method, path, body)
            timestamp = max(int(time.time()), self._last.get(key, 0) + 1)
            self._last[key] = timestamp
        stamp = str(timestamp)
        signature = self.account.sign(request_text(method, path, stamp, body))
        return {"X-Fishnet-Address": self.address, "X-Fishnet-Timestamp": stamp,
                "X-Fishnet-Signature": signature}

    async def request(self, method: str, path: str, json_body: Any = None,
                      params: Mapping[str, str] | None = None, signed: bool = True,
                      **kwargs: Any) -> httpx.Response:
        """Send a request, signed over the exact bytes sent (JSON is serialised here;
        ``files``/``data`` make multipart bodies as httpx encodes them)."""
        full = path + ("?" + urlencode(params) if params else "")
        headers = {}
        if json_body is not None:
            kwargs["content"] = json.dumps(json_body).encode()
            headers["content-type"] = "application/json"
        request = self.http.build_request(method, full, headers=headers, **kwargs)
        body = request.read()
        if signed:
            request.headers.update(self.headers(method, full, body))
        return await self.http.send(request)

    async def ok(self, method: str, path: str, json_body: Any = None, **kwargs: Any) -> Any:
        """``request`` that asserts a 2xx and returns the JSON answer."""
        response = await self.request(method, path, json_body, **kwargs)
        assert response.status_code < 300, f"{method} {path}: {response.status_code} " \
                                           f"{response.text[:500]}"
        return response.json()


@dataclass
class Stack:
    """A module's stack: owner, channel, devnet and its API process."""

    devnet: DevnetHandle
    owner: Account
    channel: str
    api: ApiProcess
    wallets: list[Wallet] = field(default_factory=list)

    def wallet(self, account: Account | None = None, url: str | None = None) -> Wallet:
        wallet = Wallet(url or self.api.url, account)
        self.wallets.append(wallet)
        return wallet


@pytest.fixture(scope="module")
def stack(devnet: DevnetHandle, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A fresh stack (owner, channel) with one API process, authorised, for the module."""
    owner = Account.generate()
    channel = f"API-{uuid.uuid4().hex[:12]}"
    api = ApiProcess(devnet.url, channel, owner.address, tmp_path_factory.mktemp("api") / "a",
                     slices="1600000000")
    asyncio.run(authorize(devnet.url, owner, [api.address], channel))
    api.start()
    made = Stack(devnet, owner, channel, api)
    yield made
    api.stop()


@pytest.fixture
async def wallets(stack: Stack) -> AsyncIterator[list[Wallet]]:
    """Three wallets: two data owners and a researcher."""
    made = [stack.wallet() for _ in range(3)]
    yield made
    for wallet in made:
        await wallet.http.aclose()
