"""The devnet node against pyaleph's contract, driven by the unmodified aleph-sdk-python client:
posts and amends, signatures and hashes, inline and storage content, single-message reads."""

from __future__ import annotations

import time

import httpx
import pytest
from aleph.sdk.chains.common import get_verification_buffer
from aleph.sdk.client import AlephHttpClient
from aleph.sdk.exceptions import InvalidMessageError, MessageNotFoundError
from aleph_message.models import ItemType, MessageType, PostMessage
from aleph_message.status import MessageStatus

from tests.conftest import Connect, new_account
from tests.devnet.support import (
    hashes_of,
    messages,
    post_body,
    posts,
    sha256_hex,
    tamper_hex,
    total_messages,
    wire_dict,
)


async def test_version_answers(http: httpx.AsyncClient) -> None:
    response = await http.get("/api/v0/version")
    assert response.status_code == 200
    assert response.json().get("version"), response.text


# --- posts and amends ---------------------------------------------------------------------------


async def test_post_sync_is_processed_and_readable(connect: Connect, channel: str) -> None:
    client = await connect()
    message, status = await client.create_post(
        {"body": "hello", "n": 1}, post_type="note", channel=channel, sync=True
    )
    assert status == MessageStatus.PROCESSED
    assert isinstance(message, PostMessage)

    listed = await posts(client, hashes=[message.item_hash])
    assert [p.item_hash for p in listed.posts] == [message.item_hash]
    post = listed.posts[0]
    assert post.content == {"body": "hello", "n": 1}
    assert post.original_item_hash == message.item_hash
    assert post.channel == channel
    assert post.address == client.account.get_address()
    assert post.original_type == "note"

    got = await client.get_message(message.item_hash)
    assert got.item_hash == message.item_hash
    assert got.content.content == {"body": "hello", "n": 1}
    assert got.sender == client.account.get_address()
    assert got.signature == message.signature


async def test_amend_replaces_content_and_keeps_original_hash(
    connect: Connect, channel: str
) -> None:
    client = await connect()
    original, _ = await client.create_post({"v": 1}, "note", channel=channel, sync=True)
    amend1, status1 = await client.create_post(
        {"v": 2}, "amend", ref=original.item_hash, channel=channel, sync=True
    )
    amend2, status2 = await client.create_post(
        {"v": 3}, "amend", ref=original.item_hash, channel=channel, sync=True
    )
    assert (status1, status2) == (MessageStatus.PROCESSED, MessageStatus.PROCESSED)

    listed = await posts(client, hashes=[original.item_hash])
    assert listed.pagination_total == 1
    [post] = listed.posts
    assert post.content == {"v": 3}, "get_posts must show the latest amend"
    assert post.item_hash == amend2.item_hash
    assert post.original_item_hash == original.item_hash
    assert post.hash == original.item_hash, "pyaleph's v0 posts: hash is the original's"
    assert post.original_type == "note"

    # the channel lists the post once, not once per amend
    in_channel = await posts(client, channels=[channel])
    assert [p.original_item_hash for p in in_channel.posts] == [original.item_hash]

    # the amends are messages of their own, referencing the original
    amend_hashes = await hashes_of(client, refs=[original.item_hash], channels=[channel])
    assert set(amend_hashes) == {amend1.item_hash, amend2.item_hash}


async def test_amend_by_another_address_is_rejected(connect: Connect, channel: str) -> None:
    owner = await connect()
    stranger = await connect()
    original, _ = await owner.create_post({"v": 1}, "note", channel=channel, sync=True)

    with pytest.raises(InvalidMessageError):
        await stranger.create_post(
            {"v": "hijacked"}, "amend", ref=original.item_hash, channel=channel, sync=True
        )

    [post] = (await posts(owner, hashes=[original.item_hash])).posts
    assert post.content == {"v": 1}
    assert await hashes_of(owner, addresses=[stranger.account.get_address()]) == []


async def test_amend_of_an_amend_is_rejected(connect: Connect, channel: str) -> None:
    client = await connect()
    original, _ = await client.create_post({"v": 1}, "note", channel=channel, sync=True)
    amend, _ = await client.create_post(
        {"v": 2}, "amend", ref=original.item_hash, channel=channel, sync=True
    )
    with pytest.raises(InvalidMessageError):
        await client.create_post({"v": 3}, "amend", ref=amend.item_hash, channel=channel, sync=True)

    [post] = (await posts(client, hashes=[original.item_hash])).posts
    assert post.content == {"v": 2}
    assert set(await hashes_of(client, channels=[channel])) == {
        original.item_hash, amend.item_hash
    }


async def test_amend_of_unknown_post_is_not_processed(connect: Connect, channel: str) -> None:
    client = await connect()
    unknown = sha256_hex(f"nothing-{time.time()}")
    try:
        _, status = await client.create_post(
            {"v": 2}, "amend", ref=unknown, channel=channel, sync=True
        )
    except InvalidMessageError:
        status = MessageStatus.REJECTED
    # pyaleph keeps such an amend pending (its target may arrive later); never processed
    assert status in (MessageStatus.PENDING, MessageStatus.REJECTED)
    assert (await posts(client, channels=[channel])).posts == []


async def test_duplicate_broadcast_is_answered_as_processed(
    connect: Connect, channel: str
) -> None:
    client = await connect()
    message, _ = await client.create_post({"v": 1}, "note", channel=channel, sync=True)

    started = time.monotonic()
    _, status = await client._broadcast(message, sync=True)
    elapsed = time.monotonic() - started

    assert status == MessageStatus.PROCESSED
    assert elapsed < 5, f"a duplicate must be answered at once, took {elapsed:.1f} s"
    response = await messages(client, hashes=[message.item_hash])
    assert response.pagination_total == 1


# --- signatures and hashes -------------------------------------------------------------------


async def test_tampered_signature_is_rejected_and_not_stored(
    connect: Connect, channel: str, http: httpx.AsyncClient
) -> None:
    client = await connect()
    content = {
        "address": client.account.get_address(), "time": time.time(), "type": "note",
        "content": {"forged": True},
    }
    message = await client.generate_signed_message(MessageType.post, content, channel)
    forged = message.model_copy(update={"signature": tamper_hex(message.signature)})

    with pytest.raises(InvalidMessageError):
        await client._broadcast(forged, sync=True)

    await _assert_not_stored(client, http, message.item_hash)


async def test_signature_by_another_key_is_rejected(
    connect: Connect, channel: str, http: httpx.AsyncClient
) -> None:
    victim = await connect()
    impostor = new_account()
    content = {
        "address": victim.account.get_address(), "time": time.time(), "type": "note",
        "content": {"impersonated": True},
    }
    message = await victim.generate_signed_message(MessageType.post, content, channel)
    body = wire_dict(message)
    signature = (await impostor.sign_raw(get_verification_buffer(body))).hex()
    body["signature"] = signature if signature.startswith("0x") else "0x" + signature

    response = await http.post("/api/v0/messages", json=post_body(body))
    assert response.status_code == 422, response.text
    await _assert_not_stored(victim, http, message.item_hash)


async def test_item_hash_mismatch_is_rejected_and_not_stored(
    connect: Connect, channel: str, http: httpx.AsyncClient
) -> None:
    client = await connect()
    content = {
        "address": client.account.get_address(), "time": time.time(), "type": "note",
        "content": {"v": "signed"},
    }
    message = await client.generate_signed_message(MessageType.post, content, channel)
    body = wire_dict(message)
    # keep item_hash and its valid signature, change what it is supposed to hash
    body["item_content"] = body["item_content"].replace('"signed"', '"swapped"')
    assert sha256_hex(body["item_content"]) != body["item_hash"]
    before = await total_messages(http)

    response = await http.post("/api/v0/messages", json=post_body(body))
    assert response.status_code == 422, response.text

    assert (await messages(client, hashes=[message.item_hash])).messages == []
    assert (await http.get(f"/api/v0/messages/{message.item_hash}")).status_code == 404
    assert await total_messages(http) == before


async def _assert_not_stored(
    client: AlephHttpClient, http: httpx.AsyncClient, item_hash: str
) -> None:
    assert (await messages(client, hashes=[item_hash])).messages == []
    response = await http.get(f"/api/v0/messages/{item_hash}")
    # pyaleph records a message rejected after processing; it must never read as processed
    assert response.status_code == 404 or response.json()["status"] == "rejected", response.text
    assert (await posts(client, hashes=[item_hash])).posts == []


# --- content stored out of line -----------------------------------------------------------------


async def test_large_post_goes_through_storage_and_reads_back_whole(
    connect: Connect, channel: str
) -> None:
    client = await connect()
    big = {"blob": "x" * 60_000, "tail": "end"}
    message, status = await client.create_post(big, "bulk", channel=channel, sync=True)
    assert status == MessageStatus.PROCESSED
    assert message.item_type == ItemType.storage, "the SDK must have used storage/add_json"

    [post] = (await posts(client, hashes=[message.item_hash])).posts
    assert post.content == big

    [listed] = (await messages(client, hashes=[message.item_hash])).messages
    assert listed.item_type == ItemType.storage
    assert listed.content.content == big

    got = await client.get_message(message.item_hash)
    assert got.content.content == big


async def test_non_inline_small_post_is_stored_too(connect: Connect, channel: str) -> None:
    client = await connect()
    message, status = await client.create_post(
        {"small": True}, "note", channel=channel, inline=False, sync=True
    )
    assert status == MessageStatus.PROCESSED
    assert message.item_type == ItemType.storage
    [post] = (await posts(client, hashes=[message.item_hash])).posts
    assert post.content == {"small": True}


# --- single-message reads and statuses -------------------------------------------------------


async def test_get_message_with_status_and_message_status(
    connect: Connect, channel: str
) -> None:
    client = await connect()
    message, _ = await client.create_post({"v": 1}, "note", channel=channel, sync=True)

    got, status = await client.get_message(message.item_hash, with_status=True)
    assert got.item_hash == message.item_hash
    assert MessageStatus(status) == MessageStatus.PROCESSED
    assert await client.get_message_status(message.item_hash) == MessageStatus.PROCESSED

    typed = await client.get_message(message.item_hash, message_type=PostMessage)
    assert isinstance(typed, PostMessage)


async def test_rejected_message_reads_as_rejected(connect: Connect, channel: str) -> None:
    owner = await connect()
    stranger = await connect()
    original, _ = await owner.create_post({"v": 1}, "note", channel=channel, sync=True)
    content = {
        "address": stranger.account.get_address(), "time": time.time(), "type": "amend",
        "ref": original.item_hash, "content": {"v": "hijack"},
    }
    message = await stranger.generate_signed_message(MessageType.post, content, channel)
    with pytest.raises(InvalidMessageError):
        await stranger._broadcast(message, sync=True)

    assert await stranger.get_message_status(message.item_hash) == MessageStatus.REJECTED
    error = await stranger.get_message_error(message.item_hash)
    assert error is not None and "error_code" in error


async def test_unknown_hash_is_not_found(connect: Connect, http: httpx.AsyncClient) -> None:
    client = await connect()
    unknown = sha256_hex(f"never-sent-{time.time()}")
    with pytest.raises(MessageNotFoundError):
        await client.get_message(unknown)
    with pytest.raises(MessageNotFoundError):
        await client.get_message_status(unknown)
    response = await http.get(f"/api/v0/messages/{unknown}")
    assert response.status_code == 404
