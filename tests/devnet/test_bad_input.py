"""Malformed requests: 4xx with a JSON reason, never a 500, and nothing stored."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from aleph.sdk.chains.common import get_verification_buffer
from aleph.sdk.chains.ethereum import ETHAccount

from tests.conftest import new_account
from tests.devnet.support import assert_json_client_error, sha256_hex, total_messages


async def signed(
    account: ETHAccount, item_content: str, type_: str = "POST", **overrides: Any
) -> dict[str, Any]:
    """A message whose hash and signature are right for whatever ``item_content`` says."""
    message: dict[str, Any] = {
        "chain": "ETH", "sender": account.get_address(), "type": type_, "channel": "TEST-BAD",
        "time": time.time(), "item_type": "inline", "item_content": item_content,
        "item_hash": sha256_hex(item_content),
    }
    message.update(overrides)
    signature = (await account.sign_raw(get_verification_buffer(message))).hex()
    message["signature"] = signature if signature.startswith("0x") else "0x" + signature
    return message


def post_content(account: ETHAccount, **overrides: Any) -> str:
    content = {"address": account.get_address(), "time": time.time(), "type": "note",
               "content": {"bad": "input"}}
    content.update(overrides)
    return json.dumps(content, separators=(",", ":"))


async def good_message(account: ETHAccount) -> dict[str, Any]:
    return await signed(account, post_content(account))


async def without(field: str, account: ETHAccount) -> dict[str, Any]:
    message = await good_message(account)
    del message[field]
    return {"sync": True, "message": message}


async def replaced(field: str, value: Any, account: ETHAccount) -> dict[str, Any]:
    message = await good_message(account)
    message[field] = value
    return {"sync": True, "message": message}


async def wrap(message: Awaitable[dict[str, Any]]) -> dict[str, Any]:
    return {"sync": True, "message": await message}


Body = bytes | dict[str, Any] | list[Any]
BAD_MESSAGES: dict[str, Callable[[ETHAccount], Awaitable[Body]]] = {
    "malformed JSON": lambda a: _const(b'{"sync": true, "message": {"chain": "ETH"'),
    "empty body": lambda a: _const(b""),
    "body is a list": lambda a: _const([{"sync": True}]),
    "no message": lambda a: _const({"sync": True}),
    "message is a string": lambda a: _const({"sync": True, "message": "hello"}),
    "message is a list": lambda a: _const({"sync": True, "message": [1, 2]}),
    "missing signature": lambda a: without("signature", a),
    "missing item_hash": lambda a: without("item_hash", a),
    "missing sender": lambda a: without("sender", a),
    "missing type": lambda a: without("type", a),
    "time is text": lambda a: replaced("time", "yesterday", a),
    "chain is a number": lambda a: replaced("chain", 123, a),
    "sync is an object": lambda a: _sync_object(a),
    "unknown chain": lambda a: wrap(signed(a, post_content(a), chain="NOPE")),
    "unknown message type": lambda a: wrap(signed(a, post_content(a), type_="TELEPORT")),
    "unknown item_type": lambda a: wrap(signed(a, post_content(a), item_type="pigeon")),
    "item_content not JSON": lambda a: wrap(signed(a, "not json {")),
    "item_content a JSON list": lambda a: wrap(signed(a, "[1, 2, 3]")),
    "content without address": lambda a: wrap(signed(
        a, json.dumps({"time": time.time(), "type": "note", "content": {}})
    )),
    "content.time is text": lambda a: wrap(signed(a, post_content(a, time="noon"))),
    "POST content without type": lambda a: wrap(signed(
        a, json.dumps({"address": a.get_address(), "time": time.time(), "content": {}})
    )),
    "AGGREGATE content not a dict": lambda a: wrap(signed(a, json.dumps(
        {"address": a.get_address(), "time": time.time(), "key": "k", "content": [1]}
    ), type_="AGGREGATE")),
    "item_hash not a hash": lambda a: replaced("item_hash", "not-a-hash", a),
}


async def _const(body: Body) -> Body:
    return body


async def _sync_object(account: ETHAccount) -> dict[str, Any]:
    return {"sync": {"yes": True}, "message": await good_message(account)}


@pytest.mark.parametrize("case", sorted(BAD_MESSAGES))
async def test_bad_message_is_refused_with_a_reason(http: httpx.AsyncClient, case: str) -> None:
    account = new_account()
    body = await BAD_MESSAGES[case](account)
    before = await total_messages(http)

    if isinstance(body, bytes):
        response = await http.post(
            "/api/v0/messages", content=body, headers={"content-type": "application/json"}
        )
    else:
        response = await http.post("/api/v0/messages", json=body)

    assert_json_client_error(response)
    assert await total_messages(http) == before
    by_sender = await http.get(
        "/api/v0/messages.json", params={"addresses": account.get_address()}
    )
    assert by_sender.json()["pagination_total"] == 0


BAD_QUERIES = {
    "page is text": {"page": "abc"},
    "page is zero": {"page": "0"},
    "pagination is negative": {"pagination": "-1"},
    "pagination is text": {"pagination": "ten"},
    "sortOrder out of range": {"sortOrder": "2"},
    "sortBy unknown": {"sortBy": "size"},
    "msgTypes unknown": {"msgTypes": "TELEPORT"},
    "startDate is text": {"startDate": "yesterday"},
}


@pytest.mark.parametrize(("path", "case"), [
    (path, case)
    for path in ("/api/v0/messages.json", "/api/v0/posts.json")
    for case in sorted(BAD_QUERIES)
    if not (path.endswith("posts.json") and case == "msgTypes unknown")  # posts take no msgTypes
])
async def test_bad_query_parameters_are_4xx(
    http: httpx.AsyncClient, path: str, case: str
) -> None:
    response = await http.get(path, params=BAD_QUERIES[case])
    assert_json_client_error(response)


@pytest.mark.parametrize("path", [
    "/api/v0/messages/not-a-hash",
    "/api/v0/messages/not-a-hash/status",
    "/api/v0/storage/raw/not-a-hash",
])
async def test_malformed_hash_in_path_is_4xx(http: httpx.AsyncClient, path: str) -> None:
    response = await http.get(path)
    assert 400 <= response.status_code < 500, response.text
    assert response.headers.get("content-type", "").startswith("application/json")


async def test_add_json_with_malformed_body_is_4xx(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/api/v0/storage/add_json", content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert_json_client_error(response)


async def test_add_file_without_file_or_with_bad_metadata_is_4xx(
    http: httpx.AsyncClient,
) -> None:
    account = new_account()
    before = await total_messages(http)
    no_file = await http.post(
        "/api/v0/storage/add_file", files={"metadata": (None, "{}", "application/json")}
    )
    assert_json_client_error(no_file)
    bad_metadata = await http.post(
        "/api/v0/storage/add_file",
        data={"metadata": "{not json"}, files={"file": ("f", b"payload")},
    )
    assert_json_client_error(bad_metadata)

    # a STORE whose declared file hash is not the uploaded file's
    data = b"the real bytes"
    content = json.dumps({
        "address": account.get_address(), "time": time.time(), "item_type": "storage",
        "item_hash": sha256_hex("other bytes"),
    }, separators=(",", ":"))
    message = await signed(account, content, type_="STORE")
    message["content"] = json.loads(content)
    mismatched = await http.post(
        "/api/v0/storage/add_file",
        data={"metadata": json.dumps({"message": message, "sync": True})},
        files={"file": ("f", data)},
    )
    assert_json_client_error(mismatched)
    assert await total_messages(http) == before
