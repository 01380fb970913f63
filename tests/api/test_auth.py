"""Request signatures (DESIGN section 6.4) and trust: 401s, 403s, ignored strangers."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator

import httpx
import pytest

from fishnet_stack.aleph.accounts import Account
from fishnet_stack.aleph.client import AlephClient
from fishnet_stack.model import Dataset
from fishnet_stack.records import Records
from tests.api.conftest import ApiProcess, Stack, Wallet, authorize
from tests.devnet.support import tamper_hex, wait_for

BODY = {"name": "x", "desc": "", "code": "def run(df, params):\n    return 1\n"}


@pytest.fixture(scope="module")
def second_api(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiProcess]:
    """Another API instance of the same stack (its own key, authorised too)."""
    api = ApiProcess(stack.devnet.url, stack.channel, stack.owner.address,
                     tmp_path_factory.mktemp("api2") / "b")
    asyncio.run(authorize(stack.devnet.url, stack.owner, [stack.api.address, api.address],
                          stack.channel))
    api.start()
    yield api
    api.stop()


def raw_put(wallet: Wallet, path: str, body: dict[str, object],
            timestamp: int | None = None) -> tuple[bytes, dict[str, str]]:
    data = json.dumps(body).encode()
    headers = {"content-type": "application/json",
               **wallet.headers("PUT", path, data, timestamp)}
    return data, headers


async def test_unsigned_forged_tampered_stale_and_malformed_are_401(
        stack: Stack, wallets: list[Wallet]) -> None:
    alice, mallory, _ = wallets
    http = alice.http
    assert (await http.put("/algorithms", json=BODY)).status_code == 401
    data, headers = raw_put(alice, "/algorithms", BODY)
    forged = {**headers, "X-Fishnet-Address": mallory.address}
    assert (await http.put("/algorithms", content=data, headers=forged)).status_code == 401
    tampered_sig = {**headers, "X-Fishnet-Signature": tamper_hex(headers["X-Fishnet-Signature"])}
    assert (await http.put("/algorithms", content=data, headers=tampered_sig)).status_code == 401
    other_body = json.dumps({**BODY, "name": "evil"}).encode()
    assert (await http.put("/algorithms", content=other_body, headers=headers)).status_code == 401
    assert (await http.put("/algorithms?x=1", content=data, headers=headers)).status_code == 401
    for skew in (-301, 400):
        stale_data, stale = raw_put(alice, "/algorithms", BODY, int(time.time()) + skew)
        response = await http.put("/algorithms", content=stale_data, headers=stale)
        assert response.status_code == 401 and "clock" in response.json()["detail"]
    for name, value in (("X-Fishnet-Timestamp", "soon"), ("X-Fishnet-Signature", "0x12"),
                        ("X-Fishnet-Address", "alice")):
        response = await http.put("/algorithms", content=data, headers={**headers, name: value})
        assert response.status_code == 401
    # data reads are signed too
    assert (await http.get("/results/" + "0" * 64)).status_code == 401
    # ...and the untouched request still works once
    assert (await http.put("/algorithms", content=data, headers=headers)).status_code == 200


async def test_replay_to_same_and_to_second_instance_is_401(
        stack: Stack, wallets: list[Wallet], second_api: ApiProcess) -> None:
    alice = wallets[0]
    data, headers = raw_put(alice, "/algorithms", {**BODY, "name": "replayed"})
    first = await alice.http.put("/algorithms", content=data, headers=headers)
    assert first.status_code == 200
    again = await alice.http.put("/algorithms", content=data, headers=headers)
    assert again.status_code == 401 and "replayed" in again.json()["detail"]
    async with httpx.AsyncClient(base_url=second_api.url, timeout=30) as other:
        item = first.json()["item_hash"]
        await wait_for(lambda: other.get(f"/algorithms/{item}"),
                       lambda r: r.status_code == 200, timeout=20, what="second API indexed")
        replay = await other.put("/algorithms", content=data, headers=headers)
        assert replay.status_code == 401, replay.text
        listed = (await other.get("/algorithms", params={"by": alice.address,
                                                         "page_size": "1000"})).json()
        assert [a["name"] for a in listed].count("replayed") == 1


async def test_writes_to_others_records_are_403(stack: Stack, wallets: list[Wallet]) -> None:
    alice, mallory, _ = wallets
    series = (await alice.ok("PUT", "/timeseries", {"timeseries": [
        {"name": "mine", "data": [[1600000000, 1.0]]}]}))[0]
    algorithm = await alice.ok("PUT", "/algorithms", {**BODY, "name": "alice-alg"})
    dataset = await alice.ok("PUT", "/datasets", {"name": "d",
                                                  "timeseriesIDs": [series["item_hash"]]})
    attempts = [
        ("PUT", "/timeseries", {"timeseries": [{"item_hash": series["item_hash"],
                                                "name": "stolen", "data": [[1, 2.0]]}]}),
        ("PUT", "/algorithms", {**BODY, "item_hash": algorithm["item_hash"]}),
        ("PUT", "/datasets", {"item_hash": dataset["item_hash"], "name": "stolen",
                              "timeseriesIDs": [series["item_hash"]]}),
        ("PUT", f"/datasets/{dataset['item_hash']}/available/false", None),
        ("PUT", f"/datasets/{dataset['item_hash']}/views", [
            {"timeseriesIDs": [series["item_hash"]]}]),
        ("PUT", f"/permissions/datasets/{dataset['item_hash']}/grant",
         {"requestor": mallory.address}),
    ]
    for method, path, body in attempts:
        response = await mallory.request(method, path, body)
        assert response.status_code == 403, (path, response.text)
    assert (await alice.ok("GET", f"/datasets/{dataset['item_hash']}", signed=False))[
        "name"] == "d"


async def test_records_of_unauthorised_keys_are_ignored(stack: Stack,
                                                        wallets: list[Wallet]) -> None:
    alice = wallets[0]
    owner = stack.owner.address
    stranger = Account.generate()
    async with AlephClient(stack.devnet.url, stranger) as aleph:
        planted = await Records(aleph, stack.channel).save(
            Dataset(name="planted", owner=owner, ownsAllTimeseries=True, timeseriesIDs=[]))
    async with AlephClient(stack.devnet.url, stack.owner) as aleph:
        genuine = await Records(aleph, stack.channel).save(
            Dataset(name="genuine", owner=owner, ownsAllTimeseries=True, timeseriesIDs=[]))
    # the owner's record arrived after the stranger's: once it is indexed, both were seen
    await wait_for(lambda: alice.http.get(f"/datasets/{genuine.item_hash}"),
                   lambda r: r.status_code == 200, timeout=20, what="genuine record indexed")
    assert (await alice.http.get(f"/datasets/{planted.item_hash}")).status_code == 404
