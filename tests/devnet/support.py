"""Helpers of the devnet contract tests: waiting on conditions, strict reads, raw messages."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import httpx
from aleph.sdk.client import AlephHttpClient, AuthenticatedAlephHttpClient
from aleph.sdk.query.filters import MessageFilter, PostFilter
from aleph.sdk.query.responses import MessagesResponse, PostsResponse
from aleph.sdk.utils import extended_json_encoder
from aleph_message.models import AlephMessage

T = TypeVar("T")

# Keys under which a JSON error body may carry its reason.
ERROR_KEYS = ("reason", "error", "errors", "detail", "details", "message")


async def wait_for(
    probe: Callable[[], Awaitable[T]],
    done: Callable[[T], bool],
    timeout: float = 10.0,
    interval: float = 0.05,
    what: str = "condition",
) -> T:
    """Call ``probe`` until ``done(result)``; return that result, or fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        result = await probe()
        if done(result):
            return result
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout} s waiting for {what}; last: {result!r}"
            )
        await asyncio.sleep(interval)


async def messages(
    client: AlephHttpClient, page_size: int = 200, page: int = 1, **filters: Any
) -> MessagesResponse:
    """``get_messages`` that raises instead of silently dropping messages it cannot parse."""
    return await client.get_messages(
        page_size=page_size, page=page, message_filter=MessageFilter(**filters),
        ignore_invalid_messages=False,
    )


async def posts(
    client: AlephHttpClient, page_size: int = 200, page: int = 1, **filters: Any
) -> PostsResponse:
    """``get_posts`` that raises instead of silently dropping posts it cannot parse."""
    return await client.get_posts(
        page_size=page_size, page=page, post_filter=PostFilter(**filters),
        ignore_invalid_messages=False,
    )


async def hashes_of(client: AlephHttpClient, **filters: Any) -> list[str]:
    """Item hashes of every message matching ``filters``, in the node's order."""
    response = await messages(client, **filters)
    assert response.pagination_total == len(response.messages), response
    return [str(m.item_hash) for m in response.messages]


async def total_messages(http: httpx.AsyncClient) -> int:
    """How many messages the node lists, all channels and types."""
    response = await http.get("/api/v0/messages.json", params={"pagination": "1"})
    assert response.status_code == 200, response.text
    return int(response.json()["pagination_total"])


def wire_dict(message: AlephMessage) -> dict[str, Any]:
    """The 9 fields the SDK broadcasts for ``message``, as plain JSON values."""
    fields = AuthenticatedAlephHttpClient.BROADCAST_MESSAGE_FIELDS
    return json.loads(
        json.dumps(message.model_dump(include=fields), default=extended_json_encoder)
    )


def post_body(message: Mapping[str, Any], sync: bool = True) -> dict[str, Any]:
    return {"sync": sync, "message": dict(message)}


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def tamper_hex(signature: str) -> str:
    """``signature`` with one hex digit in the middle of r changed (same length, still hex)."""
    body = signature.removeprefix("0x")
    i = 20
    flipped = "0" if body[i] != "0" else "1"
    return "0x" + body[:i] + flipped + body[i + 1 :]


def assert_json_client_error(response: httpx.Response) -> Any:
    """The node answered 4xx with a JSON body that says why; returns the body."""
    assert 400 <= response.status_code < 500, (
        f"expected a 4xx, got {response.status_code}: {response.text[:500]}"
    )
    assert response.headers.get("content-type", "").startswith("application/json"), (
        f"error body is not JSON ({response.headers.get('content-type')}): {response.text[:500]}"
    )
    body = response.json()
    if isinstance(body, dict):
        assert any(body.get(k) for k in ERROR_KEYS), f"no reason in the error body: {body}"
    else:
        assert isinstance(body, list) and body, f"empty or odd error body: {body!r}"
    return body
