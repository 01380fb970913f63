"""The record layer and chunk store against the session devnet."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pandas as pd
import pytest

from fishnet_stack.aleph.accounts import Account
from fishnet_stack.aleph.client import AlephClient
from fishnet_stack.chunks import ChunkStore, normalise
from fishnet_stack.errors import MessageRejected
from fishnet_stack.model import Dataset, Permission, PermissionStatus, Timeseries
from fishnet_stack.records import Records
from tests.conftest import DevnetHandle


async def authorize(aleph: AlephClient, delegate: str, channel: str) -> None:
    """The client's account lets ``delegate`` post POST/STORE for it in ``channel``."""
    await aleph.submit("AGGREGATE", {"key": "security", "content": {"authorizations": [
        {"address": delegate, "channels": [channel], "types": ["POST", "STORE"]}]}}, channel)


@pytest.fixture
async def owner_client(devnet: DevnetHandle) -> AsyncIterator[AlephClient]:
    async with AlephClient(devnet.url, Account.generate()) as aleph:
        yield aleph


async def test_save_fetch_amend_filter_revisions_forget(owner_client: AlephClient,
                                                        devnet: DevnetHandle) -> None:
    channel = f"TEST-{uuid.uuid4().hex[:12]}"
    owner = owner_client.account.address if owner_client.account else ""
    delegate = Account.generate()
    await authorize(owner_client, delegate.address, channel)
    async with AlephClient(devnet.url, delegate) as vm:
        records = Records(vm, channel, owner=owner)
        first = await records.save(Dataset(name="a", owner=owner, ownsAllTimeseries=True,
                                           timeseriesIDs=["t1", "t2"]))
        second = await records.save(Dataset(name="b", owner=owner, ownsAllTimeseries=True,
                                            timeseriesIDs=["t3"]))
        assert first.item_hash and second.item_hash and first.signer == delegate.address
        first.desc = "amended"
        first.timeseriesIDs = ["t9"]
        await records.save(first)
        fetched = await records.fetch(Dataset, first.item_hash)
        assert fetched is not None and fetched.desc == "amended"
        assert fetched.revision_hashes == first.revision_hashes and len(first.revision_hashes) == 2
        both = await records.fetch_many(Dataset, [second.item_hash, first.item_hash, "0" * 64])
        assert [d.name for d in both] == ["b", "a"]
        # indices follow amends: t1 is gone from `first`
        assert [d.name for d in await records.filter(Dataset, timeseriesIDs="t1")] == []
        found = await records.filter(Dataset, timeseriesIDs__in=["t9", "t3"], owner=owner)
        assert sorted(d.name for d in found) == ["a", "b"]
        assert [r.desc for r in await records.revisions(Dataset, first.item_hash)] == [
            None, "amended"]
        # another class in the channel is not a Dataset
        await records.save(Permission(authorizer=owner, requestor="r", datasetID="d"))
        assert len(await records.all(Dataset)) == 2
        await records.forget(first)
        assert await records.fetch(Dataset, first.item_hash) is None
        assert [d.name for d in await records.all(Dataset)] == ["b"]
        grant = (await records.all(Permission))[0]
        assert grant.status is PermissionStatus.REQUESTED


async def test_an_unauthorised_key_cannot_post_for_the_owner(owner_client: AlephClient,
                                                             devnet: DevnetHandle) -> None:
    channel = f"TEST-{uuid.uuid4().hex[:12]}"
    owner = owner_client.account.address if owner_client.account else ""
    async with AlephClient(devnet.url, Account.generate(), retries=1) as stranger:
        with pytest.raises(MessageRejected):
            await Records(stranger, channel, owner=owner).save(
                Dataset(name="x", owner=owner, ownsAllTimeseries=True, timeseriesIDs=[]))
        # what it posts for itself is not the owner's
        await Records(stranger, channel).save(
            Dataset(name="x", owner=owner, ownsAllTimeseries=True, timeseriesIDs=[]))
    assert await Records(owner_client, channel).all(Dataset) == []


async def test_chunks_round_trip_and_append_touches_only_new_ranges(
        owner_client: AlephClient, tmp_path: object) -> None:
    channel = f"TEST-{uuid.uuid4().hex[:12]}"
    owner = owner_client.account.address if owner_client.account else ""
    store = ChunkStore(owner_client, channel, owner)
    day = 86400
    refs = await store.write(normalise([(i * day, float(i)) for i in range(10)]))
    assert len(refs) == 1 and refs[0].rows == 10
    series = await store.read(refs)
    assert list(series.to_numpy()) == [float(i) for i in range(10)]
    # a new range: the old chunk is kept, one chunk added
    appended = await store.append(refs, normalise([(i * day, 100.0 + i) for i in range(10, 13)]))
    assert appended[0] == refs[0] and len(appended) == 2 and appended[1].rows == 3
    # a point at an existing timestamp replaces it: only the chunk covering it is rewritten
    replaced = await store.append(appended, normalise([(11 * day, -1.0)]))
    assert replaced[0] == refs[0] and replaced[1].hash != appended[1].hash
    window = await store.read(replaced, start=10 * day, end=12 * day)
    assert list(window.to_numpy()) == [110.0, -1.0]
    ts = Timeseries(name="x", owner=owner, chunks=replaced)
    assert [c.rows for c in ts.chunks] == [10, 3]
    assert isinstance(series.index, pd.DatetimeIndex) and str(series.index.tz) == "UTC"


async def test_records_written_by_aars_read_back_through_a_node(devnet: DevnetHandle) -> None:
    """The golden messages (signed by aars 0.7.5) replayed to a node read as aars read them."""
    golden = Path(__file__).parent / "golden"
    summary = json.loads((golden / "summary.json").read_text())
    messages = json.loads((golden / "messages.json").read_text())
    doomed = summary["revision_hashes"]["doomed"]
    async with httpx.AsyncClient(base_url=devnet.url, timeout=30) as http:
        for message in messages:
            wire_fields = {k: message[k] for k in ("chain", "sender", "type", "channel",
                                                  "signature", "time", "item_type",
                                                  "item_content", "item_hash")}
            response = await http.post("/api/v0/messages",
                                       json={"sync": True, "message": wire_fields})
            # the dump holds no forgotten message, so the FORGET waits for its targets
            expected = 202 if message["type"] == "FORGET" else 200
            assert response.status_code == expected, response.text
    async with AlephClient(devnet.url) as reader:
        records = Records(reader, summary["channel"], owner=summary["owner"])
        dataset = await records.fetch(Dataset, summary["ids"]["dataset"])
        assert dataset is not None
        assert dataset.content() == summary["aars_read"]["dataset"][0]["content"]
        names = sorted(t.name for t in await records.all(Timeseries))
        assert names == summary["aars_read"]["timeseries_by_owner"] == ["BTC", "ETH"]
        requested = await records.filter(Permission, requestor="0xresearcher",
                                         status="REQUESTED")
        assert requested == []  # amended to GRANTED: unlike aars, indices follow amends
        revisions = await records.revisions(Timeseries, doomed[0])
        assert revisions == []  # forgotten by aars: not in the dump, unknown here
