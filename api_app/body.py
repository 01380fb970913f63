"""An ASGI middleware that reads each request body once, before routing.

Signature checks need the raw body bytes; form parsing (multipart uploads) consumes the body
stream before dependencies run. The middleware keeps the bytes in ``scope["fishnet.body"]``
and replays them to the app. Bodies over ``limit`` bytes are answered 413 (JSON) unread.
"""

from __future__ import annotations

import json
from typing import Any

from fishnet_stack.vm import ASGIApp, Message, Receive, Scope, Send

__all__ = ["BODY_KEY", "BufferedBody"]

BODY_KEY = "fishnet.body"


class BufferedBody:
    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await _too_large(send, self.limit)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        scope[BODY_KEY] = body
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


async def _too_large(send: Send, limit: int) -> None:
    payload: dict[str, Any] = {"detail": f"request body over {limit} bytes"}
    data = json.dumps(payload).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})
