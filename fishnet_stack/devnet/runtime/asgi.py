"""Serve an ASGI app over a connection: ``http`` requests, and aleph-vm style events.

Events come from the compute node on their own socket, as ``POST`` requests whose body is the
Aleph message JSON; the app sees scope ``{"type": "aleph.message"}`` and ``receive()`` gives
``{"type": "aleph.message", "body": <message JSON as str>, "more_body": False}``, as aleph-vm
does. The reply is ``{"sent": [what the app sent]}``.
"""

from __future__ import annotations

import asyncio
import json
import sys
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

from .http11 import BadRequest, HttpRequest, ResponseWriter, read_request
from .lifespan import AsgiApp

__all__ = ["Handler", "event_handler", "http_handler", "serve_connection"]

Handler = Callable[[HttpRequest, ResponseWriter], Awaitable[None]]
ASGI_VERSION = {"version": "3.0", "spec_version": "2.3"}


async def serve_connection(
    handler: Handler, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """Answer requests on one connection until the peer or a response closes it."""
    try:
        while True:
            try:
                request = await read_request(reader)
            except BadRequest as exc:
                out = ResponseWriter(writer, head_only=False, keep_alive=False)
                await out.simple(400, str(exc).encode(), b"text/plain; charset=utf-8")
                return
            if request is None:
                return
            out = ResponseWriter(writer, head_only=request.method == "HEAD",
                                 keep_alive=request.keep_alive)
            await handler(request, out)
            if not (out.complete and out.keep_alive):
                return
    except (ConnectionError, asyncio.IncompleteReadError):
        return
    except asyncio.CancelledError:
        return  # the VM is shutting down; asyncio would log a cancelled connection task
    finally:
        writer.close()


def http_handler(app: AsgiApp, state: dict[str, Any]) -> Handler:
    """Run each request as an ASGI ``http`` scope; a crash before the response gives a 500."""

    async def handle(request: HttpRequest, out: ResponseWriter) -> None:
        scope = {
            "type": "http", "asgi": ASGI_VERSION, "http_version": request.http_version,
            "method": request.method, "scheme": "http", "path": request.path,
            "raw_path": request.raw_path, "query_string": request.query_string,
            "root_path": "", "headers": request.headers, "client": None, "server": None,
            "state": dict(state),
        }
        body_taken = False
        finished = asyncio.Event()

        async def receive() -> dict[str, Any]:
            nonlocal body_taken
            if not body_taken:
                body_taken = True
                return {"type": "http.request", "body": request.body, "more_body": False}
            await finished.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            kind = message.get("type")
            if kind == "http.response.start":
                out.start(int(message["status"]), list(message.get("headers", [])))
            elif kind == "http.response.body":
                more = bool(message.get("more_body", False))
                await out.body(bytes(message.get("body", b"")), more)
                if not more:
                    finished.set()

        try:
            await app(scope, receive, send)
        except Exception:
            traceback.print_exc()
        finally:
            finished.set()
        if not out.complete:
            print(f"{request.method} {request.path}: the app did not complete its response",
                  file=sys.stderr)
            await out.fail()

    return handle


def event_handler(app: AsgiApp) -> Handler:
    """Run each request's body (an Aleph message as JSON) as an ``aleph.message`` scope."""

    async def handle(request: HttpRequest, out: ResponseWriter) -> None:
        event = {"type": "aleph.message", "body": request.body.decode("utf-8"),
                 "more_body": False}
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return event

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        try:
            await app({"type": "aleph.message"}, receive, send)
        except Exception:
            traceback.print_exc()
            await out.simple(500, json.dumps({"error": traceback.format_exc(limit=5)}).encode(),
                             b"application/json")
            return
        reply = json.dumps({"sent": sent}, default=_jsonable).encode()
        await out.simple(200, reply, b"application/json")

    return handle


def _jsonable(value: object) -> object:
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", errors="replace")
    return repr(value)
