"""Nodes of their own: persistence across a restart, fault injection, the request body cap."""

from __future__ import annotations

import os
import time

import httpx
import pytest
from aleph.sdk.exceptions import BroadcastError, ForgottenMessageError
from aleph_message.models import MessageType
from aleph_message.status import MessageStatus
from websockets.asyncio.client import connect as ws_connect

from tests.conftest import Connect, MakeDevnet, new_account
from tests.devnet.support import hashes_of, posts


@pytest.mark.slow
async def test_restart_loses_nothing(make_devnet: MakeDevnet, connect: Connect) -> None:
    node = make_devnet()
    account = new_account()
    client = await connect(account, url=node.url)
    channel = "TEST-RESTART"
    address = account.get_address()

    original, _ = await client.create_post({"v": 1}, "note", channel=channel, sync=True)
    amend, _ = await client.create_post({"v": 2}, "amend", ref=original.item_hash,
                                        channel=channel, sync=True)
    big, _ = await client.create_post({"blob": "y" * 60_000}, "bulk", channel=channel, sync=True)
    doomed, _ = await client.create_post({"v": "doomed"}, "note", channel=channel, sync=True)
    forget, _ = await client.forget([doomed.item_hash], reason=None, channel=channel, sync=True)
    await client.create_aggregate("cfg", {"a": 1}, channel=channel, sync=True)
    await client.create_aggregate("cfg", {"b": 2}, channel=channel, sync=True)
    data = os.urandom(100_000)
    store, _ = await client.create_store(file_content=data, channel=channel, sync=True)
    before = await hashes_of(client, channels=[channel])

    node.restart()

    after_client = await connect(account, url=node.url)
    assert await hashes_of(after_client, channels=[channel]) == before
    [post] = (await posts(after_client, hashes=[original.item_hash])).posts
    assert post.content == {"v": 2} and post.item_hash == amend.item_hash
    [big_post] = (await posts(after_client, hashes=[big.item_hash])).posts
    assert big_post.content == {"blob": "y" * 60_000}
    assert await after_client.fetch_aggregate(address, "cfg") == {"a": 1, "b": 2}
    assert await after_client.download_file(store.content.item_hash) == data
    assert await after_client.get_message_status(doomed.item_hash) == MessageStatus.FORGOTTEN
    with pytest.raises(ForgottenMessageError):
        await after_client.get_message(doomed.item_hash)
    assert await after_client.get_message_status(forget.item_hash) == MessageStatus.PROCESSED

    # and it goes on accepting writes, amends of old posts included
    _, status = await after_client.create_post(
        {"v": 3}, "amend", ref=original.item_hash, channel=channel, sync=True
    )
    assert status == MessageStatus.PROCESSED
    [post] = (await posts(after_client, hashes=[original.item_hash])).posts
    assert post.content == {"v": 3}


async def test_fail_rate_fails_some_writes_and_no_reads(
    make_devnet: MakeDevnet, connect: Connect
) -> None:
    node = make_devnet(fail_rate=0.5, compute=False)
    client = await connect(url=node.url)
    channel = "TEST-FAULTS"
    address = client.account.get_address()

    pending = []
    for i in range(30):
        content = {"address": address, "time": time.time(), "type": "note", "content": {"i": i}}
        pending.append(await client.generate_signed_message(MessageType.post, content, channel))
    sent = {str(m.item_hash) for m in pending}

    failed_once: set[str] = set()
    attempts = 0
    # retry each failed write until it goes through: a retried message counts once
    while pending and attempts < 400:
        message = pending.pop(0)
        attempts += 1
        try:
            _, status = await client._broadcast(message, sync=True)
        except BroadcastError:
            failed_once.add(str(message.item_hash))
            pending.append(message)
            continue
        assert status == MessageStatus.PROCESSED
    assert not pending, f"writes still failing after {attempts} attempts"
    # at R=0.5, 30 first attempts all passing or all failing has probability 2 * 2**-30
    assert 0 < len(failed_once) < 30, f"{len(failed_once)} of 30 writes failed at rate 0.5"

    for _ in range(40):
        response = await client.get_messages(page_size=50)
        assert response.pagination_total >= 0
    listed = await hashes_of(client, channels=[channel])
    assert sorted(listed) == sorted(sent), "each message must be stored exactly once"


async def test_oversized_body_is_413_and_not_stored(make_devnet: MakeDevnet) -> None:
    cap = 1024 * 1024
    node = make_devnet(max_body_bytes=cap, compute=False)
    async with httpx.AsyncClient(base_url=node.url, timeout=30) as http:
        before = (await http.get("/api/v0/messages.json")).json()["pagination_total"]
        too_big = b'{"sync": true, "message": {"pad": "' + b"x" * (2 * cap) + b'"}}'
        response = await http.post(
            "/api/v0/messages", content=too_big, headers={"content-type": "application/json"}
        )
        assert response.status_code == 413, response.text
        upload = await http.post(
            "/api/v0/storage/add_file", files={"file": ("big", os.urandom(2 * cap))}
        )
        assert upload.status_code == 413, upload.text
        assert (await http.get("/api/v0/version")).status_code == 200
        after = (await http.get("/api/v0/messages.json")).json()["pagination_total"]
        assert after == before


async def test_node_stops_promptly_after_websocket_clients_left(make_devnet: MakeDevnet) -> None:
    """A subscriber that went away must not keep a handler waiting (and the node from stopping)."""
    node = make_devnet(compute=False)
    url = node.url.replace("http://", "ws://", 1) + "/api/ws0/messages?channels=TEST-GONE"
    for _ in range(3):
        async with ws_connect(url):
            pass
    started = time.monotonic()
    node.stop()
    elapsed = time.monotonic() - started
    assert elapsed < 3, f"stopping took {elapsed:.1f} s after websocket clients disconnected"
