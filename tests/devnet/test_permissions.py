"""Delegation through the owner's ``security`` aggregate, and the rules of FORGET."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from aleph.sdk.client import AuthenticatedAlephHttpClient
from aleph.sdk.exceptions import ForgottenMessageError, InvalidMessageError
from aleph_message.models import MessageType
from aleph_message.status import MessageStatus

from tests.conftest import Connect
from tests.devnet.support import hashes_of, messages, posts, wait_for


async def authorize(
    owner: AuthenticatedAlephHttpClient, *authorizations: dict[str, Any]
) -> None:
    """Replace ``owner``'s list of authorizations (the ``security`` aggregate)."""
    _, status = await owner.create_aggregate(
        "security", {"authorizations": list(authorizations)}, channel="security", sync=True
    )
    assert status == MessageStatus.PROCESSED


async def test_delegate_posts_for_owner_within_its_authorization(
    connect: Connect, channel: str
) -> None:
    owner, delegate, stranger = await connect(), await connect(), await connect()
    owner_address = owner.account.get_address()
    await authorize(owner, {
        "address": delegate.account.get_address(), "channels": [channel], "types": ["POST"],
        "post_types": ["note"],
    })

    accepted, status = await delegate.create_post(
        {"by": "delegate"}, "note", address=owner_address, channel=channel, sync=True
    )
    assert status == MessageStatus.PROCESSED
    [post] = (await posts(owner, hashes=[accepted.item_hash])).posts
    assert post.address == owner_address
    assert post.content == {"by": "delegate"}

    refused = {
        "wrong channel": lambda: delegate.create_post(
            {"x": 1}, "note", address=owner_address, channel=channel + "-X", sync=True
        ),
        "wrong post type": lambda: delegate.create_post(
            {"x": 2}, "other", address=owner_address, channel=channel, sync=True
        ),
        "wrong message type": lambda: delegate.create_aggregate(
            "k", {"x": 3}, address=owner_address, channel=channel, sync=True
        ),
        "no authorization": lambda: stranger.create_post(
            {"x": 4}, "note", address=owner_address, channel=channel, sync=True
        ),
    }
    for case, attempt in refused.items():
        with pytest.raises(InvalidMessageError):
            await attempt()
            pytest.fail(f"accepted a delegated message with {case}")

    listed = await posts(owner, addresses=[owner_address])
    assert [p.item_hash for p in listed.posts] == [accepted.item_hash]
    assert await owner.get_aggregate(owner_address, "k") is None


async def test_revoked_delegate_is_refused(connect: Connect, channel: str) -> None:
    owner, delegate = await connect(), await connect()
    owner_address = owner.account.get_address()
    await authorize(owner, {"address": delegate.account.get_address()})
    _, status = await delegate.create_post(
        {"n": 1}, "note", address=owner_address, channel=channel, sync=True
    )
    assert status == MessageStatus.PROCESSED

    await authorize(owner)  # no authorizations left
    with pytest.raises(InvalidMessageError):
        await delegate.create_post({"n": 2}, "note", address=owner_address, channel=channel,
                                   sync=True)
    assert len((await posts(owner, channels=[channel])).posts) == 1


async def test_delegate_amends_owner_post_but_cannot_change_its_address(
    connect: Connect, channel: str
) -> None:
    owner, delegate = await connect(), await connect()
    owner_address = owner.account.get_address()
    delegate_address = delegate.account.get_address()
    # authorized for the original's post type, not for "amend": the check uses the original
    await authorize(owner, {
        "address": delegate_address, "channels": [channel], "types": ["POST"],
        "post_types": ["note"],
    })
    original, _ = await owner.create_post({"v": 1}, "note", channel=channel, sync=True)

    amend, status = await delegate.create_post(
        {"v": 2}, "amend", ref=original.item_hash, address=owner_address, channel=channel,
        sync=True,
    )
    assert status == MessageStatus.PROCESSED
    [post] = (await posts(owner, hashes=[original.item_hash])).posts
    assert post.content == {"v": 2}
    assert post.item_hash == amend.item_hash
    assert post.address == owner_address

    # an amend must keep the original's content.address, even signed by the delegate itself
    with pytest.raises(InvalidMessageError):
        await delegate.create_post(
            {"v": 3}, "amend", ref=original.item_hash, address=delegate_address,
            channel=channel, sync=True,
        )
    [post] = (await posts(owner, hashes=[original.item_hash])).posts
    assert post.content == {"v": 2}


async def test_aggregate_keys_scope_a_delegate(connect: Connect, channel: str) -> None:
    owner, delegate = await connect(), await connect()
    owner_address = owner.account.get_address()
    await authorize(owner, {
        "address": delegate.account.get_address(), "types": ["AGGREGATE"],
        "aggregate_keys": ["settings"],
    })
    _, status = await delegate.create_aggregate(
        "settings", {"set_by": "delegate"}, address=owner_address, channel=channel, sync=True
    )
    assert status == MessageStatus.PROCESSED
    assert await owner.fetch_aggregate(owner_address, "settings") == {"set_by": "delegate"}

    with pytest.raises(InvalidMessageError):
        await delegate.create_aggregate(
            "profile", {"set_by": "delegate"}, address=owner_address, channel=channel, sync=True
        )
    assert await owner.get_aggregate(owner_address, "profile") is None


# --- FORGET ---------------------------------------------------------------------------------------


async def test_owner_forgets_own_post(
    connect: Connect, channel: str, http: httpx.AsyncClient
) -> None:
    client = await connect()
    target, _ = await client.create_post({"secret": 1}, "note", channel=channel, sync=True)
    forget, status = await client.forget([target.item_hash], reason="test", channel=channel,
                                         sync=True)
    assert status == MessageStatus.PROCESSED

    assert await client.get_message_status(target.item_hash) == MessageStatus.FORGOTTEN
    with pytest.raises(ForgottenMessageError):
        await client.get_message(target.item_hash)
    assert (await posts(client, hashes=[target.item_hash])).posts == []
    assert (await posts(client, channels=[channel])).posts == []
    assert (await messages(client, hashes=[target.item_hash])).messages == []
    raw = await http.get(f"/api/v0/messages/{target.item_hash}")
    assert raw.status_code == 200
    assert raw.json()["status"] == "forgotten"
    assert forget.item_hash in raw.json()["forgotten_by"]
    assert "secret" not in raw.text, "the forgotten content is still served"

    # the FORGET itself is an ordinary processed message
    assert set(await hashes_of(client, channels=[channel])) == {forget.item_hash}


async def test_forgetting_a_post_forgets_its_amends(connect: Connect, channel: str) -> None:
    client = await connect()
    original, _ = await client.create_post({"v": 1}, "note", channel=channel, sync=True)
    amend, _ = await client.create_post({"v": 2}, "amend", ref=original.item_hash,
                                        channel=channel, sync=True)
    _, status = await client.forget([original.item_hash], reason=None, channel=channel,
                                    sync=True)
    assert status == MessageStatus.PROCESSED
    assert await client.get_message_status(amend.item_hash) == MessageStatus.FORGOTTEN
    assert (await posts(client, channels=[channel])).posts == []


async def test_another_address_cannot_forget(connect: Connect, channel: str) -> None:
    owner, stranger = await connect(), await connect()
    target, _ = await owner.create_post({"v": 1}, "note", channel=channel, sync=True)
    with pytest.raises(InvalidMessageError):
        await stranger.forget([target.item_hash], reason="mine now", channel=channel, sync=True)
    assert await owner.get_message_status(target.item_hash) == MessageStatus.PROCESSED
    assert len((await posts(owner, hashes=[target.item_hash])).posts) == 1


async def test_authorized_delegate_can_forget(connect: Connect, channel: str) -> None:
    owner, delegate = await connect(), await connect()
    await authorize(owner, {
        "address": delegate.account.get_address(), "channels": [channel], "types": ["POST"],
    })
    target, _ = await owner.create_post({"v": 1}, "note", channel=channel, sync=True)
    _, status = await delegate.forget([target.item_hash], reason="cleanup", channel=channel,
                                      sync=True)
    assert status == MessageStatus.PROCESSED
    assert await owner.get_message_status(target.item_hash) == MessageStatus.FORGOTTEN


async def test_delegate_cannot_forget_outside_its_authorization(
    connect: Connect, channel: str
) -> None:
    owner, delegate = await connect(), await connect()
    await authorize(owner, {
        "address": delegate.account.get_address(), "types": ["POST"], "post_types": ["note"],
    })
    target, _ = await owner.create_post({"v": 1}, "diary", channel=channel, sync=True)
    with pytest.raises(InvalidMessageError):
        await delegate.forget([target.item_hash], reason=None, channel=channel, sync=True)
    assert await owner.get_message_status(target.item_hash) == MessageStatus.PROCESSED


async def test_forget_of_a_forget_is_rejected(connect: Connect, channel: str) -> None:
    client = await connect()
    target, _ = await client.create_post({"v": 1}, "note", channel=channel, sync=True)
    forget, _ = await client.forget([target.item_hash], reason=None, channel=channel, sync=True)
    with pytest.raises(InvalidMessageError):
        await client.forget([forget.item_hash], reason=None, channel=channel, sync=True)
    assert await client.get_message_status(forget.item_hash) == MessageStatus.PROCESSED


async def test_forget_of_a_message_not_yet_seen_waits_for_it(
    connect: Connect, channel: str
) -> None:
    """pyaleph keeps such a FORGET pending and applies it once its target is processed."""
    client = await connect()
    content = {
        "address": client.account.get_address(), "time": time.time(), "type": "note",
        "content": {"late": True},
    }
    late = await client.generate_signed_message(MessageType.post, content, channel)

    forget, status = await client.forget([late.item_hash], reason=None, channel=channel,
                                         sync=True)
    assert status == MessageStatus.PENDING
    assert await client.get_message_status(forget.item_hash) == MessageStatus.PENDING

    await client._broadcast(late, sync=True)
    await wait_for(
        lambda: client.get_message_status(late.item_hash),
        lambda s: s == MessageStatus.FORGOTTEN, timeout=15, what="the late target forgotten",
    )
    assert await client.get_message_status(forget.item_hash) == MessageStatus.PROCESSED
    assert (await posts(client, channels=[channel])).posts == []
