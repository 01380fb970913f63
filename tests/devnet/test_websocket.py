"""``/api/ws0/messages``: live messages matching a filter, after a replay of older ones."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator

from aleph.sdk.client import AuthenticatedAlephHttpClient
from aleph.sdk.query.filters import MessageFilter
from aleph_message.models import AlephMessage
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect

from tests.conftest import Connect, DevnetHandle

RECEIVE_TIMEOUT = 10.0


@contextlib.asynccontextmanager
async def watching(
    client: AuthenticatedAlephHttpClient, channel: str
) -> AsyncIterator[asyncio.Queue[AlephMessage]]:
    """Run the SDK's ``watch_messages`` on ``channel`` in a task; yields what it receives."""
    queue: asyncio.Queue[AlephMessage] = asyncio.Queue()

    async def pump() -> None:
        async for message in client.watch_messages(MessageFilter(channels=[channel])):
            await queue.put(message)

    task = asyncio.create_task(pump())
    try:
        yield queue
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task  # re-raises what ended the pump early, if anything did


async def post(client: AuthenticatedAlephHttpClient, channel: str, n: object) -> AlephMessage:
    message, _ = await client.create_post({"n": n}, "ws", channel=channel, sync=True)
    return message


async def test_watch_messages_gets_messages_posted_after_connecting(
    connect: Connect, channel: str
) -> None:
    client = await connect()
    async with watching(client, channel) as received:
        # the SDK does not say when its subscription is live: post until one comes back
        sent: set[str] = set()
        deadline = time.monotonic() + RECEIVE_TIMEOUT
        first: AlephMessage | None = None
        while first is None:
            sent.add(str((await post(client, channel, len(sent))).item_hash))
            try:
                first = await asyncio.wait_for(received.get(), 0.25)
            except TimeoutError:
                assert time.monotonic() < deadline, "nothing came through the websocket"
        assert str(first.item_hash) in sent
        assert first.channel == channel

        # connected now: a message elsewhere is filtered out, the next one here arrives
        await post(client, channel + "-elsewhere", "elsewhere")
        here = await post(client, channel, "here")
        while True:
            message = await asyncio.wait_for(received.get(), RECEIVE_TIMEOUT)
            assert message.channel == channel, "the channel filter let another channel through"
            if message.item_hash == here.item_hash:
                break
            assert str(message.item_hash) in sent
        assert message.content.content == {"n": "here"}


async def test_watch_messages_replays_recent_history_by_default(
    connect: Connect, channel: str
) -> None:
    client = await connect()
    older = {str((await post(client, channel, i)).item_hash) for i in range(3)}
    async with watching(client, channel) as received:
        replayed = {
            str((await asyncio.wait_for(received.get(), RECEIVE_TIMEOUT)).item_hash)
            for _ in range(3)
        }
    assert replayed == older


def ws_url(devnet: DevnetHandle, channel: str, history: int) -> str:
    base = devnet.url.replace("http://", "ws://", 1)
    return f"{base}/api/ws0/messages?channels={channel}&history={history}"


async def receive_hash(ws: ClientConnection) -> str:
    frame = await asyncio.wait_for(ws.recv(), RECEIVE_TIMEOUT)
    return str(json.loads(frame)["item_hash"])


async def test_raw_websocket_replays_the_requested_history_then_streams(
    devnet: DevnetHandle, connect: Connect, channel: str
) -> None:
    client = await connect()
    older = [str((await post(client, channel, i)).item_hash) for i in range(3)]
    async with ws_connect(ws_url(devnet, channel, history=2)) as ws:
        replayed = {await receive_hash(ws) for _ in range(2)}
        assert replayed == set(older[1:]), "history replays the newest matching messages"
        # no gap between replay and live: the next frame is a new message, not a third old one
        fresh = str((await post(client, channel, "fresh")).item_hash)
        assert await receive_hash(ws) == fresh


async def test_raw_websocket_without_history_streams_only_new_messages(
    devnet: DevnetHandle, connect: Connect, channel: str
) -> None:
    client = await connect()
    older = str((await post(client, channel, "old")).item_hash)
    async with ws_connect(ws_url(devnet, channel, history=0)) as ws:
        fresh: set[str] = set()
        deadline = time.monotonic() + RECEIVE_TIMEOUT
        while True:
            fresh.add(str((await post(client, channel, len(fresh))).item_hash))
            try:
                first = json.loads(await asyncio.wait_for(ws.recv(), 0.25))["item_hash"]
                break
            except TimeoutError:
                assert time.monotonic() < deadline, "nothing came through the websocket"
        assert first != older, "history=0 still replayed an older message"
        assert first in fresh
