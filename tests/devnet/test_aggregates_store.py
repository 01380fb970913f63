"""Aggregates (merged per top-level key) and STORE (upload, download, amend by ref)."""

from __future__ import annotations

import os
import time

import aiohttp
import httpx
import pytest
from aleph.sdk.exceptions import InvalidMessageError, ResourceNotFoundError
from aleph_message.models import AggregateContent, MessageType, StoreMessage
from aleph_message.status import MessageStatus

from tests.conftest import Connect
from tests.devnet.support import hashes_of, messages, sha256_bytes, sha256_hex


async def test_aggregate_merges_top_level_keys(connect: Connect, channel: str) -> None:
    client = await connect()
    address = client.account.get_address()
    _, s1 = await client.create_aggregate(
        "profile", {"name": "ada", "prefs": {"theme": "dark", "lang": "en"}},
        channel=channel, sync=True,
    )
    _, s2 = await client.create_aggregate(
        "profile", {"prefs": {"theme": "light"}, "age": 36}, channel=channel, sync=True
    )
    assert (s1, s2) == (MessageStatus.PROCESSED, MessageStatus.PROCESSED)

    # top-level keys merge; a nested dict is replaced whole, not merged
    assert await client.fetch_aggregate(address, "profile") == {
        "name": "ada", "prefs": {"theme": "light"}, "age": 36,
    }

    await client.create_aggregate("settings", {"tz": "UTC"}, channel=channel, sync=True)
    everything = await client.fetch_aggregates(address)
    assert everything == {
        "profile": {"name": "ada", "prefs": {"theme": "light"}, "age": 36},
        "settings": {"tz": "UTC"},
    }
    assert await client.fetch_aggregates(address, keys=["settings"]) == {"settings": {"tz": "UTC"}}
    assert await client.fetch_aggregate(address, "settings") == {"tz": "UTC"}

    aggregate_messages = await hashes_of(client, channels=[channel], content_keys=["profile"])
    assert len(aggregate_messages) == 2


async def test_unknown_aggregate_is_absent(connect: Connect) -> None:
    client = await connect()
    address = client.account.get_address()
    assert await client.get_aggregate(address, "nothing-here") is None
    with pytest.raises(aiohttp.ClientResponseError) as raised:
        await client.fetch_aggregates(address)
    assert raised.value.status == 404


async def test_aggregate_merges_in_content_time_order(connect: Connect, channel: str) -> None:
    """The element with the later ``content.time`` wins, whatever order the node received them."""
    client = await connect()
    address = client.account.get_address()
    now = time.time()
    for value, at in [("newer", now), ("older", now - 60)]:
        content = AggregateContent(key="clock", address=address, content={"v": value}, time=at)
        _, status, _ = await client.submit(
            content.model_dump(exclude_none=True), MessageType.aggregate,
            channel=channel, sync=True,
        )
        assert status == MessageStatus.PROCESSED
    assert await client.fetch_aggregate(address, "clock") == {"v": "newer"}


async def test_store_then_download(connect: Connect, channel: str) -> None:
    client = await connect()
    data = os.urandom(200_000)
    message, status = await client.create_store(file_content=data, channel=channel, sync=True)
    # the SDK uploads then broadcasts the same message again: both must read as processed
    assert status == MessageStatus.PROCESSED
    assert isinstance(message, StoreMessage)
    assert message.content.item_hash == sha256_bytes(data)

    assert await client.download_file(message.content.item_hash) == data
    got, got_status = await client.get_message(message.item_hash, with_status=True)
    assert isinstance(got, StoreMessage)
    assert MessageStatus(got_status) == MessageStatus.PROCESSED
    assert (await messages(client, hashes=[message.item_hash])).pagination_total == 1


async def test_download_of_unknown_file_is_404(connect: Connect, http: httpx.AsyncClient) -> None:
    client = await connect()
    unknown = sha256_hex(f"no-such-file-{time.time()}")
    with pytest.raises(ResourceNotFoundError):
        await client.download_file(unknown)
    assert (await http.get(f"/api/v0/storage/raw/{unknown}")).status_code == 404


async def test_add_json_answers_the_sha256_and_serves_it(http: httpx.AsyncClient) -> None:
    content = {"stored": "out of line", "at": time.time()}
    response = await http.post("/api/v0/storage/add_json", json=content)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "success"
    raw = await http.get(f"/api/v0/storage/raw/{body['hash']}")
    assert raw.status_code == 200
    assert sha256_bytes(raw.content) == body["hash"]


async def test_store_amend_by_ref(connect: Connect, channel: str) -> None:
    client = await connect()
    first, _ = await client.create_store(file_content=b"version 1", channel=channel, sync=True)
    second, status = await client.create_store(
        file_content=b"version 2", ref=first.item_hash, channel=channel, sync=True
    )
    assert status == MessageStatus.PROCESSED
    assert second.content.ref == first.item_hash

    assert set(await hashes_of(client, refs=[first.item_hash])) == {second.item_hash}
    assert await client.download_file(first.content.item_hash) == b"version 1"
    assert await client.download_file(second.content.item_hash) == b"version 2"

    # no revision trees: a STORE may not ref a STORE that itself has a ref
    with pytest.raises((InvalidMessageError, aiohttp.ClientResponseError)):
        await client.create_store(
            file_content=b"version 3", ref=second.item_hash, channel=channel, sync=True
        )
    assert set(await hashes_of(client, refs=[second.item_hash])) == set()


async def test_store_amend_by_another_address_is_rejected(connect: Connect, channel: str) -> None:
    owner = await connect()
    stranger = await connect()
    first, _ = await owner.create_store(file_content=b"mine", channel=channel, sync=True)
    with pytest.raises((InvalidMessageError, aiohttp.ClientResponseError)):
        await stranger.create_store(
            file_content=b"theirs", ref=first.item_hash, channel=channel, sync=True
        )
    assert await hashes_of(owner, refs=[first.item_hash]) == []
