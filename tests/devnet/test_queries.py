"""Filters, sort orders and pagination of ``messages.json`` and ``posts.json``, through the SDK."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aleph.sdk.client import AuthenticatedAlephHttpClient
from aleph.sdk.query.filters import SortBy, SortOrder
from aleph_message.models import AlephMessage, MessageType
from aleph_message.status import MessageStatus

from tests.conftest import Connect, DevnetHandle, new_account
from tests.devnet.support import hashes_of, messages, posts


def _ts(message: AlephMessage) -> float:
    return message.time.timestamp()


@dataclass
class Corpus:
    """Messages of every kind in a channel of their own, sent one after the other."""

    channel: str
    other_channel: str
    tag_a: str
    tag_b: str
    owner: AuthenticatedAlephHttpClient
    other: AuthenticatedAlephHttpClient
    p1: AlephMessage  # owner, POST alpha, tag_a
    p2: AlephMessage  # owner, POST beta, tag_b
    p3: AlephMessage  # other, POST alpha
    p4: AlephMessage  # owner, POST comment, ref p1
    a1: AlephMessage  # owner, AGGREGATE k1
    s1: AlephMessage  # owner, STORE
    q1: AlephMessage  # owner, POST alpha in other_channel

    @property
    def in_channel(self) -> list[AlephMessage]:
        return [self.p1, self.p2, self.p3, self.p4, self.a1, self.s1]


@pytest.fixture(scope="module")
async def corpus(devnet: DevnetHandle) -> AsyncIterator[Corpus]:
    suffix = uuid.uuid4().hex[:12]
    channel, other_channel = f"TEST-Q-{suffix}", f"TEST-Q2-{suffix}"
    tag_a, tag_b = f"tag-a-{suffix}", f"tag-b-{suffix}"
    async with (
        AuthenticatedAlephHttpClient(new_account(), api_server=devnet.url) as owner,
        AuthenticatedAlephHttpClient(new_account(), api_server=devnet.url) as other,
    ):
        sent = []
        for client, content, post_type, ref, ch in [
            (owner, {"n": 1, "tags": [tag_a]}, "alpha", None, channel),
            (owner, {"n": 2, "tags": [tag_b]}, "beta", None, channel),
            (other, {"n": 3}, "alpha", None, channel),
        ]:
            message, status = await client.create_post(
                content, post_type, ref=ref, channel=ch, sync=True
            )
            assert status == MessageStatus.PROCESSED
            sent.append(message)
        p1, p2, p3 = sent
        p4, _ = await owner.create_post(
            {"n": 4}, "comment", ref=p1.item_hash, channel=channel, sync=True
        )
        a1, _ = await owner.create_aggregate("k1", {"x": 1}, channel=channel, sync=True)
        s1, _ = await owner.create_store(
            file_content=f"corpus {suffix}".encode(), channel=channel, sync=True
        )
        q1, _ = await owner.create_post({"n": 5}, "alpha", channel=other_channel, sync=True)
        yield Corpus(
            channel, other_channel, tag_a, tag_b, owner, other, p1, p2, p3, p4, a1, s1, q1
        )


def _set(*items: AlephMessage) -> set[str]:
    return {str(m.item_hash) for m in items}


async def test_channel_filter_lists_everything_sent_there(corpus: Corpus) -> None:
    got = await hashes_of(corpus.owner, channels=[corpus.channel])
    assert sorted(got) == sorted(_set(*corpus.in_channel))
    both = await hashes_of(corpus.owner, channels=[corpus.channel, corpus.other_channel])
    assert set(both) == _set(*corpus.in_channel, corpus.q1)


async def test_message_types_filter(corpus: Corpus) -> None:
    c = corpus
    ch = [c.channel]
    assert set(await hashes_of(c.owner, channels=ch, message_types=[MessageType.post])) == _set(
        c.p1, c.p2, c.p3, c.p4
    )
    assert set(
        await hashes_of(c.owner, channels=ch, message_types=[MessageType.aggregate])
    ) == _set(c.a1)
    assert set(await hashes_of(c.owner, channels=ch, message_types=[MessageType.store])) == _set(
        c.s1
    )
    assert set(
        await hashes_of(
            c.owner, channels=ch, message_types=[MessageType.aggregate, MessageType.store]
        )
    ) == _set(c.a1, c.s1)


async def test_addresses_filter(corpus: Corpus) -> None:
    c = corpus
    other = c.other.account.get_address()
    assert set(await hashes_of(c.owner, addresses=[other])) == _set(c.p3)
    owner = c.owner.account.get_address()
    assert set(await hashes_of(c.owner, channels=[c.channel], addresses=[owner])) == _set(
        c.p1, c.p2, c.p4, c.a1, c.s1
    )
    assert set(await hashes_of(c.owner, addresses=[owner, other])) == _set(
        *c.in_channel, c.q1
    )


async def test_refs_hashes_and_chains_filters(corpus: Corpus) -> None:
    c = corpus
    assert set(await hashes_of(c.owner, refs=[c.p1.item_hash])) == _set(c.p4)
    assert set(await hashes_of(c.owner, hashes=[c.p2.item_hash, c.a1.item_hash])) == _set(
        c.p2, c.a1
    )
    assert set(await hashes_of(c.owner, channels=[c.channel], chains=["ETH"])) == _set(
        *c.in_channel
    )
    assert await hashes_of(c.owner, channels=[c.channel], chains=["SOL"]) == []


async def test_tags_content_types_and_content_keys_filters(corpus: Corpus) -> None:
    c = corpus
    assert set(await hashes_of(c.owner, tags=[c.tag_a])) == _set(c.p1)
    assert set(await hashes_of(c.owner, tags=[c.tag_a, c.tag_b])) == _set(c.p1, c.p2)
    assert set(
        await hashes_of(c.owner, channels=[c.channel], content_types=["alpha"])
    ) == _set(c.p1, c.p3)
    assert set(
        await hashes_of(c.owner, channels=[c.channel], content_types=["alpha", "comment"])
    ) == _set(c.p1, c.p3, c.p4)
    assert set(await hashes_of(c.owner, channels=[c.channel], content_keys=["k1"])) == _set(
        c.a1
    )
    assert await hashes_of(c.owner, channels=[c.channel], content_keys=["nope"]) == []


async def test_date_range_filters(corpus: Corpus) -> None:
    c = corpus
    # boundaries half-way between consecutive messages: no dependence on timestamp rounding
    after_p1 = (_ts(c.p1) + _ts(c.p2)) / 2
    after_p3 = (_ts(c.p3) + _ts(c.p4)) / 2
    ch = [c.channel]
    assert set(await hashes_of(c.owner, channels=ch, start_date=after_p1, end_date=after_p3)) == (
        _set(c.p2, c.p3)
    )
    assert set(await hashes_of(c.owner, channels=ch, end_date=after_p1)) == _set(c.p1)
    assert set(await hashes_of(c.owner, channels=ch, start_date=after_p3)) == _set(
        c.p4, c.a1, c.s1
    )


async def test_sort_order(corpus: Corpus) -> None:
    c = corpus
    in_order = [str(m.item_hash) for m in c.in_channel]
    ascending = await hashes_of(
        c.owner, channels=[c.channel], sort_by=SortBy.TIME, sort_order=SortOrder.ASCENDING
    )
    descending = await hashes_of(
        c.owner, channels=[c.channel], sort_by=SortBy.TIME, sort_order=SortOrder.DESCENDING
    )
    default = await hashes_of(c.owner, channels=[c.channel])
    assert ascending == in_order
    assert descending == in_order[::-1]
    assert default == descending, "pyaleph lists the most recent first by default"


async def test_posts_filters(corpus: Corpus) -> None:
    c = corpus
    owner_address = c.owner.account.get_address()

    async def post_hashes(**filters: object) -> set[str]:
        response = await posts(c.owner, **filters)
        assert response.pagination_total == len(response.posts)
        return {str(p.item_hash) for p in response.posts}

    ch = [c.channel]
    assert await post_hashes(channels=ch) == _set(c.p1, c.p2, c.p3, c.p4)
    assert await post_hashes(channels=ch, types=["alpha"]) == _set(c.p1, c.p3)
    assert await post_hashes(channels=ch, addresses=[owner_address]) == _set(c.p1, c.p2, c.p4)
    assert await post_hashes(refs=[c.p1.item_hash]) == _set(c.p4)
    assert await post_hashes(hashes=[c.p2.item_hash]) == _set(c.p2)
    assert await post_hashes(tags=[c.tag_b]) == _set(c.p2)
    assert await post_hashes(channels=ch, chains=["ETH"]) == _set(c.p1, c.p2, c.p3, c.p4)
    after_p1 = (_ts(c.p1) + _ts(c.p2)) / 2
    after_p3 = (_ts(c.p3) + _ts(c.p4)) / 2
    assert await post_hashes(channels=ch, start_date=after_p1, end_date=after_p3) == _set(
        c.p2, c.p3
    )

    ascending = await posts(c.owner, channels=ch, sort_order=SortOrder.ASCENDING)
    assert [p.item_hash for p in ascending.posts] == [m.item_hash for m in (c.p1, c.p2, c.p3, c.p4)]
    descending = await posts(c.owner, channels=ch, sort_order=SortOrder.DESCENDING)
    assert [p.item_hash for p in descending.posts] == [p.item_hash for p in ascending.posts][::-1]


async def test_pagination_covers_every_message_once(connect: Connect, channel: str) -> None:
    clients = [await connect() for _ in range(5)]

    async def send(i: int) -> str:
        message, status = await clients[i % 5].create_post(
            {"i": i}, "page", channel=channel, sync=True
        )
        assert status == MessageStatus.PROCESSED
        return str(message.item_hash)

    sent = set(await asyncio.gather(*(send(i) for i in range(25))))
    assert len(sent) == 25

    seen: list[str] = []
    for page, expected_size in [(1, 10), (2, 10), (3, 5), (4, 0)]:
        response = await messages(clients[0], page_size=10, page=page, channels=[channel])
        assert response.pagination_total == 25
        assert response.pagination_page == page
        assert response.pagination_per_page == 10
        assert len(response.messages) == expected_size, f"page {page}"
        seen.extend(str(m.item_hash) for m in response.messages)
    assert len(seen) == len(set(seen)), "a message appeared on two pages"
    assert set(seen) == sent

    post_seen: list[str] = []
    for page, expected_size in [(1, 10), (2, 10), (3, 5)]:
        response = await posts(clients[0], page_size=10, page=page, channels=[channel])
        assert response.pagination_total == 25
        assert len(response.posts) == expected_size, f"posts page {page}"
        post_seen.extend(str(p.item_hash) for p in response.posts)
    assert len(post_seen) == len(set(post_seen))
    assert set(post_seen) == sent
