"""The API's index follows the channel: amends, forgets, a restart; appends add chunks only for
the new range."""

from __future__ import annotations

from typing import Any

import httpx

from fishnet_stack.aleph.client import AlephClient
from fishnet_stack.model import Dataset, Timeseries
from fishnet_stack.records import Records
from tests.api.conftest import Stack, Wallet
from tests.devnet.support import wait_for

DAY = 86400
T0 = 1_600_000_000


async def dataset_named(http: httpx.AsyncClient, item: str) -> Any:
    response = await http.get(f"/datasets/{item}")
    return response.json().get("name") if response.status_code == 200 else None


async def test_index_follows_amends_forgets_and_restarts(stack: Stack,
                                                         wallets: list[Wallet]) -> None:
    http = wallets[0].http
    owner = stack.owner.address
    async with AlephClient(stack.devnet.url, stack.owner) as aleph:
        records = Records(aleph, stack.channel)
        kept = await records.save(Dataset(name="v1", owner=owner, ownsAllTimeseries=True,
                                          timeseriesIDs=["t1"]))
        doomed = await records.save(Dataset(name="doomed", owner=owner,
                                            ownsAllTimeseries=True, timeseriesIDs=[]))
        await wait_for(lambda: dataset_named(http, str(doomed.item_hash)),
                       lambda name: name == "doomed", timeout=20, what="records indexed")
        kept.name = "v2"
        await records.save(kept)
        kept.name = "v3"
        kept.timeseriesIDs = ["t2"]
        await records.save(kept)
        await records.forget(doomed)
    await wait_for(lambda: dataset_named(http, str(kept.item_hash)), lambda n: n == "v3",
                   timeout=20, what="amends indexed")
    await wait_for(lambda: dataset_named(http, str(doomed.item_hash)), lambda n: n is None,
                   timeout=20, what="forget indexed")
    listed = (await http.get("/datasets", params={"by": owner, "page_size": "100"})).json()
    assert [d["name"] for d in listed] == ["v3"]
    assert listed[0]["revision_hashes"] == kept.revision_hashes

    stack.api.stop()
    stack.api.start()
    async with httpx.AsyncClient(base_url=stack.api.url, timeout=30) as fresh:
        assert await dataset_named(fresh, str(kept.item_hash)) == "v3"
        assert await dataset_named(fresh, str(doomed.item_hash)) is None
        listed = (await fresh.get("/datasets", params={"by": owner})).json()
        assert [d["name"] for d in listed] == ["v3"]


async def test_append_adds_chunks_only_for_the_new_range(stack: Stack,
                                                         wallets: list[Wallet]) -> None:
    alice = wallets[0]
    created = (await alice.ok("PUT", "/timeseries", {"timeseries": [
        {"name": "daily", "desc": "bars", "data": [[T0 + i * DAY, float(i)] for i in range(30)]}
    ]}))[0]
    assert [c["rows"] for c in created["chunks"]] == [30] and created["count"] == 30
    appended = (await alice.ok("PUT", "/timeseries", {"timeseries": [
        {"item_hash": created["item_hash"], "name": "daily",
         "data": [[T0 + i * DAY, float(i)] for i in range(30, 33)]}]}))[0]
    assert appended["item_hash"] == created["item_hash"]
    assert appended["chunks"][0] == created["chunks"][0]
    assert [c["rows"] for c in appended["chunks"]] == [30, 3]
    assert appended["count"] == 33 and appended["max"] == 32.0 and appended["desc"] == "bars"
    # a point at an existing timestamp replaces it: only the chunk that holds it changes
    fixed = (await alice.ok("PUT", "/timeseries", {"timeseries": [
        {"item_hash": created["item_hash"], "name": "daily",
         "data": [[T0 + 31 * DAY, -5.0]]}]}))[0]
    assert fixed["chunks"][0] == created["chunks"][0]
    assert fixed["chunks"][1]["hash"] != appended["chunks"][1]["hash"]
    assert fixed["count"] == 33 and fixed["min"] == -5.0
    ts = await alice.ok("GET", f"/timeseries/{created['item_hash']}", signed=False)
    assert len(ts["revision_hashes"]) == 3 and "data" not in ts


async def test_legacy_inline_timeseries_is_served(stack: Stack, wallets: list[Wallet]) -> None:
    alice = wallets[0]
    owner = stack.owner.address
    async with AlephClient(stack.devnet.url, stack.owner) as aleph:
        records = Records(aleph, stack.channel)
        legacy = await records.save(Timeseries(name="old", owner=alice.address,
                                               data=[(T0, 1.5), (T0 + DAY, 2.5)]))
        dataset = await records.save(Dataset(name="old", owner=owner, ownsAllTimeseries=False,
                                             timeseriesIDs=[str(legacy.item_hash)], price="0"))
    await wait_for(lambda: dataset_named(alice.http, str(dataset.item_hash)),
                   lambda n: n == "old", timeout=20, what="legacy records indexed")
    response = await alice.request("GET", f"/datasets/{dataset.item_hash}/timeseries/csv")
    assert response.status_code == 200, response.text
    assert response.text.splitlines()[1:] == ["2020-09-13T12:26:40+0000,1.5",
                                              "2020-09-14T12:26:40+0000,2.5"]


async def test_executions_are_stamped_from_the_active_release_of_the_manifest(
        stack: Stack, wallets: list[Wallet]) -> None:
    alice = wallets[0]
    series = (await alice.ok("PUT", "/timeseries", {"timeseries": [
        {"name": "s", "data": [[T0, 1.0]]}]}))[0]
    ds = (await alice.ok("PUT", "/datasets", {"name": "d", "timeseriesIDs": [
        series["item_hash"]]}))["item_hash"]
    algorithm = (await alice.ok("PUT", "/algorithms", {
        "name": "a", "desc": "", "code": "def run(df, params):\n    return 1\n"}))["item_hash"]
    body = {"algorithmID": algorithm, "datasetID": ds}
    standalone = (await alice.ok("POST", "/executions", body))["execution"]
    assert standalone["release"] == 3 and standalone["slices"] == [
        {"start": None, "end": 1600000000.0}, {"start": 1600000000.0, "end": None}]
    executors = [{"item_hash": "e2", "start": "2021-01-01T00:00:00Z", "end": None},
                 {"item_hash": "e1", "start": None, "end": "2021-01-01T00:00:00Z"}]
    manifest = {"serial": 8, "active": 7, "releases": {
        "6": {"versions": {}, "api": [], "executors": [], "deprecated": True},
        "7": {"versions": {"api": "1", "executor": "1"}, "api": ["a1"],
              "executors": executors}}}
    async with AlephClient(stack.devnet.url, stack.owner) as aleph:
        await aleph.submit("AGGREGATE", {"key": "fishnet-stack:dev", "content": manifest},
                           stack.channel)
    stamped = (await alice.ok("POST", "/executions", body))["execution"]
    assert stamped["release"] == 7
    assert stamped["slices"] == [{"start": None, "end": 1609459200.0},
                                 {"start": 1609459200.0, "end": None}]
    assert stamped["inputs"] == [{"timeseriesID": series["item_hash"],
                                  "revision": series["item_hash"],
                                  "chunks": series["chunks"], "inline": False}]
