"""The one door to an Aleph node: signed writes through aleph-sdk-python, paged reads as dicts.

Writes are split in two so that callers can journal a message before it leaves:
:meth:`AlephClient.sign` builds and signs a :class:`SignedMessage` (pure, apart from uploading
large content by hash), :meth:`AlephClient.send` sends it with retries. Sending the same signed
message again is safe: nodes treat a known item_hash as already processed, so retries never
duplicate.

Reads bypass the SDK's model parsing (which silently drops what it cannot parse) and return the
node's JSON, paging until everything is read.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import aiohttp
import httpx
from aleph.sdk.chains.ethereum import ETHAccount
from aleph.sdk.client import AuthenticatedAlephHttpClient
from aleph.sdk.exceptions import BroadcastError, InvalidMessageError
from aleph.sdk.types import StorageEnum
from aleph_message.models import MessageType, parse_message
from aleph_message.status import MessageStatus

from fishnet_stack.aleph.accounts import Account
from fishnet_stack.errors import MessageRejected, NodeUnavailable

__all__ = ["AlephClient", "SignedMessage"]

_TRANSIENT = (TimeoutError, NodeUnavailable, BroadcastError, aiohttp.ClientError,
              httpx.TransportError)

_WIRE = ("sender", "chain", "signature", "type", "item_hash", "item_type", "item_content",
         "time", "channel")


@dataclass(frozen=True)
class SignedMessage:
    """A signed message as sent on the wire (``wire``), plus its parsed ``content``.

    JSON-serialisable through :meth:`to_json` / :meth:`from_json` (for journals).
    """

    wire: dict[str, Any]
    content: dict[str, Any]

    @property
    def item_hash(self) -> str:
        return str(self.wire["item_hash"])

    @property
    def type(self) -> str:
        return str(self.wire["type"])

    def to_json(self) -> str:
        return json.dumps({"wire": self.wire, "content": self.content}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> SignedMessage:
        data = json.loads(text)
        return cls(wire=data["wire"], content=data["content"])


class AlephClient:
    """An async client of one node, acting as ``account`` (None: read-only).

    Use as ``async with AlephClient(url, account) as aleph:``. ``retries`` bounds the attempts of
    each request on transient failures (5xx, timeouts, refused connections), with exponential
    backoff from ``backoff`` seconds.
    """

    def __init__(self, url: str, account: Account | None = None, *, retries: int = 5,
                 backoff: float = 0.2, timeout: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self.account = account
        self.retries = retries
        self.backoff = backoff
        self._timeout = timeout
        self._sdk: AuthenticatedAlephHttpClient | None = None
        self._http: httpx.AsyncClient | None = None

    async def __aenter__(self) -> AlephClient:
        self._http = httpx.AsyncClient(base_url=self.url, timeout=self._timeout)
        if self.account is not None:
            sdk_account = ETHAccount(self.account.private_key)
            # No timeout= here: with one, aleph-sdk 2.4 builds its session with a JSON
            # serializer that cannot serialize (extended_json_encoder is not a dumps function).
            self._sdk = AuthenticatedAlephHttpClient(sdk_account, api_server=self.url)
            await self._sdk.__aenter__()  # type: ignore[no-untyped-call]
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        if self._sdk is not None:
            await self._sdk.__aexit__(exc_type, exc, tb)  # type: ignore[no-untyped-call]
            self._sdk = None
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            raise RuntimeError("use AlephClient as an async context manager")
        return self._http

    @property
    def sdk(self) -> AuthenticatedAlephHttpClient:
        if self._sdk is None:
            raise RuntimeError("this AlephClient has no account: it can only read")
        return self._sdk

    # -- writes ------------------------------------------------------------------------------

    async def sign(self, message_type: str, content: Mapping[str, Any],
                   channel: str | None) -> SignedMessage:
        """Sign a message of ``message_type`` with ``content`` (``address`` and ``time`` are
        filled in when missing). Content too large to inline is uploaded first, by hash."""
        assert self.account is not None
        body = {"address": self.account.address, "time": time.time(), **content}
        message = await self._retry(lambda: self.sdk.generate_signed_message(
            message_type=MessageType(message_type), content=body, channel=channel,
            storage_engine=StorageEnum.storage,
        ))
        wire = message.model_dump(include=set(_WIRE), mode="json")
        wire["time"] = message.time.timestamp()
        return SignedMessage(wire=wire, content=body)

    async def send(self, message: SignedMessage) -> MessageStatus:
        """Send ``message`` with ``sync=True``, retrying transient failures.

        Returns PROCESSED or PENDING. Raises :class:`MessageRejected` (422: the node refused it;
        retrying will not help) or :class:`NodeUnavailable` once retries are exhausted.
        """
        parsed = parse_message({**message.wire, "content": message.content})

        async def attempt() -> MessageStatus:
            try:
                _, status = await self.sdk._broadcast(parsed, sync=True)
            except InvalidMessageError as exc:
                raise MessageRejected(f"node rejected {message.type} {message.item_hash}: "
                                      f"{_reason(exc)}") from exc
            return status

        status: MessageStatus = await self._retry(attempt)
        return status

    async def submit(self, message_type: str, content: Mapping[str, Any],
                     channel: str | None) -> SignedMessage:
        """Sign and send in one step (for writes that need no journal)."""
        signed = await self.sign(message_type, content, channel)
        await self.send(signed)
        return signed

    async def upload(self, data: bytes, channel: str | None, *,
                     extra: Mapping[str, Any] | None = None) -> SignedMessage:
        """Store ``data`` (STORE message, ``item_type: storage``) and return its message.

        The file goes up with the signed STORE in one multipart request, then the message is
        sent again through ``/api/v0/messages`` (older nodes ignore the multipart message).
        """
        file_hash = hashlib.sha256(data).hexdigest()
        content = {"item_type": "storage", "item_hash": file_hash, **(extra or {})}
        signed = await self.sign("STORE", content, channel)
        metadata = json.dumps({"message": {**signed.wire, "content": signed.content},
                               "sync": True})

        async def push() -> None:
            response = await self.http.post(
                "/api/v0/storage/add_file",
                files={"metadata": (None, metadata, "application/json"), "file": ("file", data)},
            )
            if response.status_code == 422:
                raise MessageRejected(f"node rejected upload {file_hash}: {response.text}")
            if response.status_code >= 500:
                raise NodeUnavailable(f"upload failed: HTTP {response.status_code}")
            response.raise_for_status()

        await self._retry(push)
        await self.send(signed)
        return signed

    # -- reads -------------------------------------------------------------------------------

    async def messages(self, page_size: int = 500, **filters: str) -> AsyncIterator[dict[str, Any]]:
        """Every message matching ``filters`` (messages.json parameters: ``msgTypes``,
        ``addresses``, ``channels``, ``refs``, ``hashes``, ``contentTypes``, ...), oldest first."""
        async for item in self._paged("/api/v0/messages.json", "messages", page_size,
                                      {"sortOrder": "1", **filters}):
            yield item

    async def posts(self, page_size: int = 500, **filters: str) -> AsyncIterator[dict[str, Any]]:
        """Every post (merged with its latest amend) matching ``filters`` (posts.json
        parameters: ``types``, ``addresses``, ``channels``, ``refs``, ``hashes``, ``tags``)."""
        async for item in self._paged("/api/v0/posts.json", "posts", page_size,
                                      {"sortOrder": "1", **filters}):
            yield item

    async def message(self, item_hash: str) -> dict[str, Any] | None:
        """``GET /api/v0/messages/{hash}`` (status, message, ...) or None when unknown."""
        response = await self._retry(lambda: self._get(f"/api/v0/messages/{item_hash}"))
        return None if response is None else dict(response.json())

    async def aggregate(self, address: str, key: str) -> dict[str, Any] | None:
        """The merged aggregate ``key`` of ``address``, or None when it has none."""
        response = await self._retry(
            lambda: self._get(f"/api/v0/aggregates/{address}.json", {"keys": key}))
        if response is None:
            return None
        value = response.json().get("data", {}).get(key)
        return dict(value) if isinstance(value, dict) else None

    async def download(self, file_hash: str) -> bytes | None:
        """The stored file ``file_hash``, or None when the node does not have it."""
        response = await self._retry(lambda: self._get(f"/api/v0/storage/raw/{file_hash}"))
        return None if response is None else response.content

    async def _paged(self, path: str, key: str, page_size: int,
                     params: dict[str, str]) -> AsyncIterator[dict[str, Any]]:
        page = 1
        while True:
            query = {**params, "pagination": str(page_size), "page": str(page)}
            response = await self._retry(lambda q=query: self._get(path, q))
            if response is None:
                return
            body = response.json()
            items = body.get(key, [])
            for item in items:
                yield item
            if len(items) < page_size or page * page_size >= int(body.get("pagination_total", 0)):
                return
            page += 1

    async def _get(self, path: str, params: Mapping[str, str] | None = None,
                   ) -> httpx.Response | None:
        try:
            response = await self.http.get(path, params=params)
        except httpx.TransportError as exc:
            raise NodeUnavailable(f"cannot reach {self.url}: {exc}") from exc
        if response.status_code == 404:
            return None
        if response.status_code >= 500:
            raise NodeUnavailable(f"{self.url}{path}: HTTP {response.status_code}")
        if response.status_code >= 400:
            raise MessageRejected(f"{self.url}{path}: HTTP {response.status_code}: "
                                  f"{response.text[:300]}")
        return response

    async def _retry(self, action: Any) -> Any:
        """Run ``action()`` until it succeeds, retrying transient failures with backoff."""
        delay = self.backoff
        for attempt in range(self.retries):
            try:
                return await action()
            except MessageRejected:
                raise
            except _TRANSIENT as exc:
                if attempt == self.retries - 1:
                    if isinstance(exc, NodeUnavailable):
                        raise
                    raise NodeUnavailable(f"{self.url}: {exc}") from exc
                await asyncio.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")


def _reason(exc: InvalidMessageError) -> str:
    detail = exc.args[0] if exc.args else exc
    if isinstance(detail, dict):
        errors = detail.get("details", {}).get("errors")
        if errors:
            return "; ".join(str(e) for e in errors)
    return str(detail)
