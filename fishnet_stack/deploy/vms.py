"""Talking to deployed VMs: wait for ``/health``, read ``/identity`` (DESIGN 5).

Both poll until the condition holds or ``timeout`` passes, then raise
:class:`~fishnet_stack.errors.VmUnhealthy` naming the program, the last answer and where its
logs are. They only read; a VM that never answers leaves nothing half-done.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from typing import Any

import httpx

from fishnet_stack.errors import VmUnhealthy

__all__ = ["fetch_health", "wait_healthy", "wait_identity"]

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


async def fetch_health(http: httpx.AsyncClient, url: str) -> dict[str, Any] | str:
    """``/health`` of the VM at ``url`` as JSON, or a short description of why not."""
    try:
        response = await http.get(f"{url}/health")
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"
    if response.status_code != 200:
        return f"HTTP {response.status_code}: {response.text[:200]}"
    try:
        body = response.json()
    except ValueError:
        return f"not JSON: {response.text[:200]}"
    return body if isinstance(body, dict) else f"unexpected body {body!r}"


async def _poll(what: str, url: str, probe: Callable[[], Any], timeout: float,
                interval: float) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        ok, last = await probe()
        if ok:
            return last
        if time.monotonic() > deadline:
            raise VmUnhealthy(f"{url}: no {what} within {timeout:.0f} s (last: {last}); "
                              "see `fishnet-stack logs STACKFILE --vm HASH`")
        await asyncio.sleep(interval)


async def wait_healthy(http: httpx.AsyncClient, url: str, tree_hash: str, timeout: float,
                       interval: float = 0.2) -> dict[str, Any]:
    """Wait until ``url/health`` says ok with ``tree_hash``; returns the payload."""
    async def probe() -> tuple[bool, Any]:
        body = await fetch_health(http, url)
        good = isinstance(body, dict) and body.get("status") == "ok" \
            and body.get("tree_hash") == tree_hash
        return good, body

    result: dict[str, Any] = await _poll("healthy /health", url, probe, timeout, interval)
    return result


async def wait_identity(http: httpx.AsyncClient, url: str, timeout: float,
                        interval: float = 0.2) -> str:
    """The VM's address from ``url/identity``."""
    async def probe() -> tuple[bool, Any]:
        try:
            response = await http.get(f"{url}/identity")
            body = response.json() if response.status_code == 200 else response.status_code
        except (httpx.HTTPError, ValueError) as exc:
            return False, str(exc)
        address = body.get("address") if isinstance(body, dict) else None
        return bool(isinstance(address, str) and _ADDRESS.match(address)), address or body

    address: str = await _poll("address at /identity", url, probe, timeout, interval)
    return address
