"""A node's live message stream (``GET /api/ws0/messages``), as an async iterator of dicts.

:func:`watch` connects with ``history=0`` (no replay), yields each message JSON object the node
sends, and reconnects after a dropped connection with a capped backoff. Callers that must not
miss anything call ``on_connect`` to catch up (page ``messages.json``) after each (re)connect:
the stream is live only from the moment it is connected.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import urlencode

from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

__all__ = ["watch", "ws_url"]


def ws_url(api: str, filters: Mapping[str, str]) -> str:
    """The ws0 URL of node ``api`` (http[s]://...) for ``filters`` (messages.json names)."""
    base = api.rstrip("/")
    scheme = "wss://" if base.startswith("https://") else "ws://"
    host = base.split("://", 1)[-1]
    return f"{scheme}{host}/api/ws0/messages?{urlencode({**filters, 'history': '0'})}"


async def watch(api: str, filters: Mapping[str, str],
                on_connect: Callable[[], Awaitable[None]] | None = None,
                max_backoff: float = 5.0) -> AsyncIterator[dict[str, Any]]:
    """Messages matching ``filters`` as the node processes them, forever (cancel to stop).

    ``on_connect`` runs after every successful connection, before messages are yielded from
    it; frames that are not JSON objects are skipped. Connection failures are retried.
    """
    url = ws_url(api, filters)
    delay = 0.1
    while True:
        try:
            async with connect(url, open_timeout=10, ping_interval=20,
                               max_size=2**26) as socket:
                delay = 0.1
                if on_connect is not None:
                    await on_connect()
                async for frame in socket:
                    try:
                        message = json.loads(frame)
                    except ValueError:
                        continue
                    if isinstance(message, dict):
                        yield message
        except (OSError, WebSocketException, TimeoutError):
            pass
        await asyncio.sleep(delay)
        delay = min(delay * 2, max_backoff)
