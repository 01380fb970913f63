"""Routes beyond the permission flow: uploads, CSV preprocessing, views, users, results."""

from __future__ import annotations

from fishnet_stack.aleph.client import AlephClient
from fishnet_stack.model import Result
from fishnet_stack.records import Records
from tests.api.conftest import Stack, Wallet
from tests.devnet.support import wait_for

CSV = (b"date,close,volume,note\n"
       b"2020-01-03,3.0,30,c\n2020-01-01,1.0,10,a\n2020-01-02,2.0,,b\n")


async def test_upload_and_preprocess_tables(stack: Stack, wallets: list[Wallet]) -> None:
    alice = wallets[0]
    preview = await alice.ok("POST", "/timeseries/csv", files={"data": ("p.csv", CSV)})
    assert [(p["name"], p["count"], p["max"]) for p in preview] == [
        ("close", 3, 3.0), ("volume", 2, 30.0)]
    assert preview[0]["data"] == [[1577836800.0, 1.0], [1577923200.0, 2.0],
                                  [1578009600.0, 3.0]]
    assert (await alice.request("GET", "/timeseries/" + "0" * 64, signed=False)).status_code \
        == 404  # preprocessing saved nothing
    uploaded = await alice.ok("POST", "/timeseries/upload", files={"file": ("p.csv", CSV)},
                              data={"desc": "daily"})
    assert [(t["name"], t["count"], t["desc"]) for t in uploaded] == [
        ("close", 3, "daily"), ("volume", 2, "daily")]
    ds = await alice.ok("PUT", "/datasets", {"name": "up", "timeseriesIDs": [
        t["item_hash"] for t in uploaded]})
    csv = await alice.request("GET", f"/datasets/{ds['item_hash']}/timeseries/csv")
    assert csv.text.splitlines() == ["timestamp,close,volume",
                                     "2020-01-01T00:00:00+0000,1.0,10.0",
                                     "2020-01-02T00:00:00+0000,2.0,",
                                     "2020-01-03T00:00:00+0000,3.0,30.0"]
    bad = await alice.request("POST", "/timeseries/upload",
                              files={"file": ("x.csv", b"a,b\nx,y\n")})
    assert bad.status_code == 422 and "time column" in bad.json()["detail"]


async def test_views_are_windowed_normalised_and_resampled(stack: Stack,
                                                           wallets: list[Wallet]) -> None:
    alice = wallets[0]
    hour = 3600
    start = 1_600_000_000 - 1_600_000_000 % 86400
    series = (await alice.ok("PUT", "/timeseries", {"timeseries": [
        {"name": "hourly", "data": [[start + i * hour, float(i)] for i in range(72)]}]}))[0]
    ds = (await alice.ok("PUT", "/datasets", {"name": "v", "timeseriesIDs": [
        series["item_hash"]]}))["item_hash"]
    answer = await alice.ok("PUT", f"/datasets/{ds}/views", [
        {"timeseriesIDs": [series["item_hash"]], "granularity": "YEAR",
         "startTime": start, "endTime": start + 48 * hour}])
    values = answer["views"][0]["values"][series["item_hash"]]
    # two daily means (11.5 and 35.5) of the 48-hour window, min-max normalised
    assert values == [[float(start), 0.0], [float(start + 86400), 1.0]]
    assert answer["dataset"]["viewIDs"] == [answer["views"][0]["item_hash"]]
    public = await alice.ok("GET", f"/datasets/{ds}/views", signed=False)
    assert [v["item_hash"] for v in public] == answer["dataset"]["viewIDs"]


async def test_users_profiles(stack: Stack, wallets: list[Wallet]) -> None:
    alice, bob, _ = wallets
    await alice.ok("PUT", "/users", {"username": "alice", "bio": "quant"})
    await alice.ok("PUT", "/users", {"username": "alice2"})
    profile = await bob.ok("GET", f"/users/{alice.address.lower()}", signed=False)
    assert profile["username"] == "alice2" and profile["address"] == alice.address
    assert (await bob.request("GET", f"/users/{bob.address}", signed=False)).status_code == 404
    everyone = await bob.ok("GET", "/users", signed=False, params={"page_size": "1000"})
    assert [u["username"] for u in everyone if u["address"] == alice.address] == ["alice2"]


async def test_results_only_for_requester_and_data_owners(stack: Stack,
                                                          wallets: list[Wallet]) -> None:
    alice, researcher, stranger = wallets
    series = (await alice.ok("PUT", "/timeseries", {"timeseries": [
        {"name": "r", "data": [[1600000000, 1.0]]}]}))[0]
    ds = (await alice.ok("PUT", "/datasets", {"name": "r", "price": "0",
                                              "timeseriesIDs": [series["item_hash"]]}))
    algorithm = await researcher.ok("PUT", "/algorithms", {
        "name": "one", "desc": "", "code": "def run(df, params):\n    return 1\n"})
    execution = (await researcher.ok("POST", "/executions", {
        "algorithmID": algorithm["item_hash"], "datasetID": ds["item_hash"]}))["execution"]
    assert execution["status"] == "PENDING"
    path = f"/executions/{execution['item_hash']}/result"
    assert (await researcher.request("GET", path)).status_code == 404
    async with AlephClient(stack.devnet.url, stack.owner) as aleph:  # what an executor posts
        result = await Records(aleph, stack.channel).save(Result(
            executionID=execution["item_hash"], owner=researcher.address, data={"mean": 1.0}))
    await wait_for(lambda: researcher.request("GET", path),
                   lambda r: r.status_code == 200, timeout=20, what="result indexed")
    assert (await alice.ok("GET", f"/results/{result.item_hash}"))["data"] == {"mean": 1.0}
    assert (await stranger.request("GET", path)).status_code == 403
    assert (await stranger.request("GET", f"/results/{result.item_hash}")).status_code == 403
