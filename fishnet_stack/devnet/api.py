"""The devnet node's HTTP API: the part of pyaleph's API that aleph-sdk-python uses.

Bad input gets a 4xx with a JSON ``{"error": ...}`` reason, never a 500; the only 500s are the
ones ``--fail-rate`` injects into write requests (before anything is written).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from fishnet_stack.devnet.config import DevnetConfig
from fishnet_stack.devnet.crn import ComputeNode
from fishnet_stack.devnet.posts import posts_page
from fishnet_stack.devnet.processing import MessageProcessor, Outcome
from fishnet_stack.devnet.query import BadQuery, MessageQuery, parse_page
from fishnet_stack.devnet.store import NodeStore

__all__ = ["DEVNET_VERSION", "Node"]

DEVNET_VERSION = "fishnet-devnet-0.1.0"
log = logging.getLogger("fishnet.devnet")
Handler = Callable[[Request], Awaitable[Response]]


class _BadRequest(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


def _error(status: int, reason: str) -> JSONResponse:
    return JSONResponse({"error": reason}, status_code=status)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


class Node:
    """One devnet node: its store, its message processor, its subscribers and compute node."""

    def __init__(self, config: DevnetConfig, store: NodeStore, crn: ComputeNode | None) -> None:
        self.config = config
        self.store = store
        self.processor = MessageProcessor(store)
        self.crn = crn
        self._subscribers: dict[int, tuple[MessageQuery, asyncio.Queue[dict[str, Any]]]] = {}
        self._random = random.Random()

    # -- plumbing ----------------------------------------------------------------------------

    def app(self) -> Starlette:
        w = self._guard
        routes = [
            Route("/api/v0/version", w(self.version), methods=["GET"]),
            Route("/api/v0/messages", w(self.post_message, write=True), methods=["POST"]),
            Route("/api/v0/messages.json", w(self.list_messages), methods=["GET"]),
            Route("/api/v0/messages/{item_hash}", w(self.get_message), methods=["GET"]),
            Route("/api/v0/messages/{item_hash}/status", w(self.message_status), methods=["GET"]),
            Route("/api/v0/posts.json", w(self.list_posts), methods=["GET"]),
            Route("/api/v0/aggregates/{address}.json", w(self.get_aggregates), methods=["GET"]),
            Route("/api/v0/storage/add_json", w(self.add_json, write=True), methods=["POST"]),
            Route("/api/v0/storage/add_file", w(self.add_file, write=True), methods=["POST"]),
            Route("/api/v0/storage/raw/{file_hash}", w(self.raw_file), methods=["GET", "HEAD"]),
            Route("/api/v0/devnet/vms", w(self.vms), methods=["GET"]),
            WebSocketRoute("/api/ws0/messages", self.watch),
        ]
        if self.crn is not None:
            methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
            routes += [
                Route("/vm/{item_hash}", self.proxy, methods=methods),
                Route("/vm/{item_hash}/{path:path}", self.proxy, methods=methods),
            ]
        return Starlette(routes=routes)

    def _guard(self, handler: Handler, write: bool = False) -> Handler:
        async def guarded(request: Request) -> Response:
            if write and self.config.fail_rate and self._random.random() < self.config.fail_rate:
                return _error(500, "injected failure (--fail-rate)")
            try:
                return await handler(request)
            except (_BadRequest, BadQuery) as exc:
                status = exc.status if isinstance(exc, _BadRequest) else 422
                return _error(status, str(exc))

        return guarded

    async def _body(self, request: Request) -> bytes:
        limit = self.config.max_body_bytes
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise _BadRequest(413, f"request body over {limit} bytes")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _BadRequest(413, f"request body over {limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    async def _json(self, request: Request) -> Any:
        try:
            return json.loads(await self._body(request))
        except (ValueError, UnicodeDecodeError) as exc:
            raise _BadRequest(422, f"body is not valid JSON: {exc}") from exc

    def _publish(self, outcome: Outcome) -> None:
        """Tell websocket subscribers and the compute node about newly processed messages."""
        hashes = [outcome.item_hash] if outcome.item_hash and not outcome.duplicate else []
        for item_hash in hashes + outcome.forgotten:
            stored = self.store.get_processed(item_hash) if item_hash else None
            if stored is None:
                continue
            message = stored.to_api()
            for query, queue in list(self._subscribers.values()):
                if query.matches(stored.row):
                    queue.put_nowait(message)
            if self.crn is not None:
                asyncio.get_running_loop().create_task(self.crn.notify(message))

    def _submit(self, raw: Any) -> Outcome:
        outcome = self.processor.submit(raw)
        if outcome.status == "processed":
            self._publish(outcome)
        return outcome

    # -- routes ------------------------------------------------------------------------------

    async def version(self, request: Request) -> Response:
        return JSONResponse({"version": DEVNET_VERSION})

    async def post_message(self, request: Request) -> Response:
        body = await self._json(request)
        if not isinstance(body, dict) or "message" not in body:
            raise _BadRequest(422, 'body must be {"sync": bool, "message": {...}}')
        sync = body.get("sync", False)
        if not isinstance(sync, bool):
            raise _BadRequest(422, "'sync' must be a boolean")
        return _broadcast_response(self._submit(body["message"]))

    async def list_messages(self, request: Request) -> Response:
        params = request.query_params
        query, page = MessageQuery.from_params(params), parse_page(params)
        where, args = query.sql()
        rows = self.store.query(where, args, query.order, page.size, page.offset)
        return JSONResponse({
            "messages": [r.to_api() for r in rows],
            "pagination_page": page.page,
            "pagination_total": self.store.count(where, args),
            "pagination_per_page": page.size,
            "pagination_item": "messages",
        })

    async def get_message(self, request: Request) -> Response:
        item_hash = request.path_params["item_hash"]
        found = self.store.get(item_hash)
        if found is not None:
            body: dict[str, Any] = {
                "status": found["status"], "item_hash": item_hash,
                "reception_time": _iso(found["reception_time"]), "message": found.to_api(),
            }
            if found["status"] == "forgotten":
                body["forgotten_by"] = json.loads(found["forgotten_by"] or "[]")
            return JSONResponse(body)
        rejected = self.store.get_rejected(item_hash)
        if rejected is not None:
            return JSONResponse({
                "status": "rejected", "item_hash": item_hash,
                "reception_time": _iso(rejected["reception_time"]),
                "message": json.loads(rejected["message"]),
                "error_code": rejected["error_code"], "details": json.loads(rejected["details"]),
            })
        pending = self.store.get_pending(item_hash)
        if pending is not None:
            return JSONResponse({
                "status": "pending", "item_hash": item_hash,
                "reception_time": _iso(pending["reception_time"]),
                "messages": [json.loads(pending["message"])],
            })
        return _error(404, f"no message {item_hash}")

    async def message_status(self, request: Request) -> Response:
        item_hash = request.path_params["item_hash"]
        for status, row in (("", self.store.get(item_hash)),
                            ("rejected", self.store.get_rejected(item_hash)),
                            ("pending", self.store.get_pending(item_hash))):
            if row is not None:
                return JSONResponse({
                    "status": status or row["status"], "item_hash": item_hash,
                    "reception_time": _iso(row["reception_time"]),
                })
        return _error(404, f"no message {item_hash}")

    async def list_posts(self, request: Request) -> Response:
        params = request.query_params
        query = MessageQuery.from_params({
            "hashes": params.get("hashes", ""), "owners": params.get("addresses", ""),
            "refs": params.get("refs", ""), "channels": params.get("channels", ""),
            "contentTypes": params.get("types", ""), "tags": params.get("tags", ""),
            "sortOrder": params.get("sortOrder", "-1"), "sortBy": params.get("sortBy", "time"),
            "msgTypes": "POST",
        })
        page = parse_page(params)
        start = MessageQuery.from_params({"startDate": params.get("startDate", ""),
                                          "endDate": params.get("endDate", "")})
        return JSONResponse(posts_page(self.store, query, start, page.page, page.size))

    async def get_aggregates(self, request: Request) -> Response:
        address = request.path_params["address"]
        raw_keys = request.query_params.get("keys", "")
        keys = [k for k in raw_keys.split(",") if k] or None
        data = self.store.aggregates(address, keys)
        if not data:
            return _error(404, f"no aggregate for {address}")
        return JSONResponse({"address": address, "data": data, "info": {}})

    async def add_json(self, request: Request) -> Response:
        body = await self._body(request)
        try:
            json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise _BadRequest(422, f"body is not valid JSON: {exc}") from exc
        file_hash = self.store.files.put(body)
        self._retry_pending()
        return JSONResponse({"status": "success", "hash": file_hash})

    async def add_file(self, request: Request) -> Response:
        content_type = request.headers.get("content-type", "")
        if not content_type.startswith("multipart/form-data"):
            file_hash = self.store.files.put(await self._body(request))
            self._retry_pending()
            return JSONResponse({"status": "success", "hash": file_hash})
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.config.max_body_bytes:
            raise _BadRequest(413, f"request body over {self.config.max_body_bytes} bytes")
        try:
            form = await request.form(max_part_size=self.config.max_body_bytes)
        except Exception as exc:  # python-multipart raises several unrelated types
            raise _BadRequest(422, f"malformed multipart body: {exc}") from exc
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise _BadRequest(422, "multipart body needs a 'file' part")
        data = await upload.read()
        metadata_raw = form.get("metadata")
        if metadata_raw is None:
            file_hash = self.store.files.put(data)
            self._retry_pending()
            return JSONResponse({"status": "success", "hash": file_hash})
        if not isinstance(metadata_raw, str):
            metadata_raw = (await metadata_raw.read()).decode(errors="replace")
        try:
            metadata = json.loads(metadata_raw)
            message = metadata["message"]
            declared_hash = message["content"]["item_hash"]
        except (ValueError, KeyError, TypeError) as exc:
            raise _BadRequest(422, "'metadata' must be {\"message\": <signed STORE>, \"sync\": "
                              "bool} with content.item_hash") from exc
        file_hash = hashlib.sha256(data).hexdigest()
        if declared_hash != file_hash or message.get("type") != "STORE":
            raise _BadRequest(422, f"the STORE message must reference the uploaded file "
                              f"(sha256 {file_hash}), got {declared_hash!r}")
        already = self.store.files.exists(file_hash)
        self.store.files.put(data)
        outcome = self._submit(message)
        if outcome.status == "rejected" and not already:
            self.store.files.delete(file_hash)
        if outcome.status == "rejected":
            return JSONResponse({"status": "error", "hash": file_hash,
                                 "error": outcome.reason}, status_code=422)
        status_code = 200 if outcome.status == "processed" else 202
        return JSONResponse({"status": "success", "hash": file_hash}, status_code=status_code)

    async def raw_file(self, request: Request) -> Response:
        file_hash = request.path_params["file_hash"]
        if not self.store.files.exists(file_hash):
            return _error(404, f"no file {file_hash}")
        return Response(self.store.files.get(file_hash) or b"",
                        media_type="application/octet-stream")

    async def vms(self, request: Request) -> Response:
        return JSONResponse({"vms": self.crn.status() if self.crn is not None else [],
                             "compute": self.crn is not None})

    async def proxy(self, request: Request) -> Response:
        assert self.crn is not None
        response: Response = await self.crn.proxy(
            request, request.path_params["item_hash"], request.path_params.get("path", "")
        )
        return response

    async def watch(self, websocket: WebSocket) -> None:
        try:
            query = MessageQuery.from_params(websocket.query_params)
            history = int(websocket.query_params.get("history", "10") or 10)
        except (BadQuery, ValueError) as exc:
            await websocket.close(code=1008, reason=str(exc)[:120])
            return
        await websocket.accept()
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._subscribers[id(queue)] = (query, queue)
        # The client never speaks after connecting; reading is how its departure is noticed.
        gone = asyncio.ensure_future(_until_disconnected(websocket))
        try:
            if history > 0:
                where, args = query.sql()
                older = self.store.query(where, args, "time DESC, seq DESC", history, 0)
                for stored in reversed(older):
                    await websocket.send_text(json.dumps(stored.to_api()))
            while not gone.done():
                getter = asyncio.ensure_future(queue.get())
                await asyncio.wait({getter, gone}, return_when=asyncio.FIRST_COMPLETED)
                if not getter.done():
                    getter.cancel()
                    break
                await websocket.send_text(json.dumps(getter.result()))
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass
        finally:
            gone.cancel()
            self._subscribers.pop(id(queue), None)

    def _retry_pending(self) -> None:
        for item_hash in self.processor.retry_pending():
            self._publish(Outcome("processed", item_hash))


async def _until_disconnected(websocket: WebSocket) -> None:
    try:
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass


def _broadcast_response(outcome: Outcome) -> JSONResponse:
    publication = {"status": "success", "failed": []}
    if outcome.status == "rejected":
        return JSONResponse({
            "publication_status": publication, "message_status": "rejected",
            "details": {"error_code": outcome.error_code, "errors": [outcome.reason]},
        }, status_code=422)
    return JSONResponse(
        {"publication_status": publication, "message_status": outcome.status},
        status_code=200 if outcome.status == "processed" else 202,
    )
