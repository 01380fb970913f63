"""The whole permission flow with three wallets: two data owners sharing a dataset and one
researcher (DESIGN section 6.5), through a real API process."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Stack, Wallet

DAY = 86400
T0 = 1_600_000_000


async def make_series(wallet: Wallet, name: str, n: int = 5, base: float = 0.0) -> str:
    created = await wallet.ok("PUT", "/timeseries", {"timeseries": [
        {"name": name, "data": [[T0 + i * DAY, base + i] for i in range(n)]}]})
    return str(created[0]["item_hash"])


async def shared_dataset(alice: Wallet, bob: Wallet, price: str = "10") -> dict[str, Any]:
    a = await make_series(alice, "alice-close")
    b = await make_series(bob, "bob-volume", base=100)
    dataset: dict[str, Any] = await alice.ok("PUT", "/datasets", {
        "name": "shared", "timeseriesIDs": [a, b], "price": price})
    assert dataset["ownsAllTimeseries"] is False and dataset["owner"] == alice.address
    return dataset


async def test_request_approve_by_each_owner_then_download(
        stack: Stack, wallets: list[Wallet]) -> None:
    alice, bob, researcher = wallets
    dataset = await shared_dataset(alice, bob)
    ds = dataset["item_hash"]
    csv = f"/datasets/{ds}/timeseries/csv"
    assert (await researcher.request("GET", csv)).status_code == 403
    listed = await researcher.ok("GET", "/datasets", signed=False,
                                 params={"view_as": researcher.address, "page_size": "100"})
    assert next(d for d in listed if d["item_hash"] == ds)["permission_status"] == \
        "NOT REQUESTED"

    requests = await researcher.ok("PUT", f"/permissions/datasets/{ds}/request", {})
    assert sorted(p["authorizer"] for p in requests) == sorted([alice.address, bob.address])
    incoming = await alice.ok("GET", f"/users/{alice.address}/permissions/incoming",
                              signed=False)
    mine = [p for p in incoming if p["requestor"] == researcher.address]
    assert len(mine) == 1 and mine[0]["status"] == "REQUESTED"
    notes = await alice.ok("GET", f"/users/{alice.address}/notifications", signed=False)
    assert [n["permissionID"] for n in notes] == [mine[0]["item_hash"]]

    by_owner = {p["authorizer"]: p["item_hash"] for p in requests}
    # only the authorizer may decide a permission
    refused = await alice.request("PUT", "/permissions/approve", [by_owner[bob.address]])
    assert refused.status_code == 403
    await alice.ok("PUT", "/permissions/approve", [by_owner[alice.address]])
    assert (await researcher.request("GET", csv)).status_code == 403  # bob has not approved
    await bob.ok("PUT", "/permissions/approve", [by_owner[bob.address]])
    response = await researcher.request("GET", csv)
    assert response.status_code == 200, response.text
    lines = response.text.strip().splitlines()
    assert lines[0] == "timestamp,alice-close,bob-volume" and len(lines) == 6
    assert lines[1].endswith(",0.0,100.0")
    listed = await researcher.ok("GET", "/datasets", signed=False,
                                 params={"view_as": researcher.address, "page_size": "100"})
    assert next(d for d in listed if d["item_hash"] == ds)["permission_status"] == "GRANTED"


async def test_execution_requested_then_promoted_or_denied(
        stack: Stack, wallets: list[Wallet]) -> None:
    alice, bob, researcher = wallets
    ds = (await shared_dataset(alice, bob))["item_hash"]
    algorithm = await researcher.ok("PUT", "/algorithms", {
        "name": "mean", "desc": "column means", "code": "def run(df, params):\n"
                                                        "    return df.mean()\n"})
    answer = await researcher.ok("POST", "/executions", {
        "algorithmID": algorithm["item_hash"], "datasetID": ds})
    execution = answer["execution"]
    assert execution["status"] == "REQUESTED" and len(answer["permissionRequests"]) == 2
    assert execution["release"] == 3
    assert execution["slices"] == [{"start": None, "end": 1600000000.0},
                                   {"start": 1600000000.0, "end": None}]
    assert [len(i["chunks"]) for i in execution["inputs"]] == [1, 1]
    by_owner = {p["authorizer"]: p["item_hash"] for p in answer["permissionRequests"]}
    await alice.ok("PUT", "/permissions/approve", [by_owner[alice.address]])
    still = await researcher.ok("GET", f"/executions/{execution['item_hash']}", signed=False)
    assert still["status"] == "REQUESTED"
    await bob.ok("PUT", "/permissions/approve", [by_owner[bob.address]])
    promoted = await researcher.ok("GET", f"/executions/{execution['item_hash']}",
                                   signed=False)
    assert promoted["status"] == "PENDING"
    # an algorithm-scoped grant never allows downloads
    assert (await researcher.request("GET", f"/datasets/{ds}/timeseries/csv")).status_code \
        == 403

    second = (await researcher.ok("POST", "/executions", {
        "algorithmID": algorithm["item_hash"], "datasetID": ds}))["execution"]
    assert second["status"] == "PENDING"
    other = await researcher.ok("PUT", "/algorithms", {
        "name": "max", "desc": "", "code": "def run(df, params):\n    return df.max()\n"})
    third = await researcher.ok("POST", "/executions", {
        "algorithmID": other["item_hash"], "datasetID": ds})
    assert third["execution"]["status"] == "REQUESTED"
    await bob.ok("PUT", "/permissions/deny", [
        p["item_hash"] for p in third["permissionRequests"] if p["authorizer"] == bob.address])
    denied = await researcher.ok("GET", f"/executions/{third['execution']['item_hash']}",
                                 signed=False)
    assert denied["status"] == "DENIED"


async def test_quota_and_unavailable_dataset(stack: Stack, wallets: list[Wallet]) -> None:
    alice, _, researcher = wallets
    series = await make_series(alice, "solo")
    ds = (await alice.ok("PUT", "/datasets", {"name": "solo", "timeseriesIDs": [series],
                                              "price": "5"}))["item_hash"]
    algorithm = (await researcher.ok("PUT", "/algorithms", {
        "name": "n", "desc": "", "code": "def run(df, params):\n    return len(df)\n"}))
    await alice.ok("PUT", f"/permissions/datasets/{ds}/grant", {
        "requestor": researcher.address, "maxExecutionCount": 2})
    body = {"algorithmID": algorithm["item_hash"], "datasetID": ds}
    statuses = [(await researcher.ok("POST", "/executions", body))["execution"]["status"]
                for _ in range(3)]
    assert statuses == ["PENDING", "PENDING", "REQUESTED"]
    # downloads are refused once the quota is used up
    assert (await researcher.request("GET", f"/datasets/{ds}/timeseries/csv")).status_code \
        == 403
    # others cannot change the dataset; its owner makes it unavailable: waiting runs denied
    assert (await researcher.request("PUT", f"/datasets/{ds}/available/false")).status_code \
        == 403
    await alice.ok("PUT", f"/datasets/{ds}/available/false")
    runs = await researcher.ok("GET", "/executions", signed=False,
                               params={"dataset_id": ds, "by": researcher.address})
    assert sorted(r["status"] for r in runs) == ["DENIED", "DENIED", "DENIED"]
    late = await researcher.ok("POST", "/executions", body)
    assert late["execution"]["status"] == "DENIED"


async def test_free_dataset_needs_no_grant(stack: Stack, wallets: list[Wallet]) -> None:
    alice, _, researcher = wallets
    series = await make_series(alice, "free")
    ds = (await alice.ok("PUT", "/datasets", {"name": "free", "timeseriesIDs": [series],
                                              "price": "0"}))["item_hash"]
    response = await researcher.request("GET", f"/datasets/{ds}/timeseries/csv")
    assert response.status_code == 200 and response.text.startswith("timestamp,free")
