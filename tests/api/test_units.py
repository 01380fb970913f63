"""Pure parts of the API app: request verification, the index's trust and merge rules, tables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from api_app.asgi import build
from api_app.auth import RequestVerifier, Unauthorized, request_text
from api_app.index import RecordIndex
from api_app.state import parse_slices
from api_app.tables import read_table, series_stats, table_columns, to_csv
from fishnet_stack.aleph.accounts import Account
from fishnet_stack.errors import DataError
from fishnet_stack.model import Dataset, Slice
from fishnet_stack.records import wire
from fishnet_stack.vm import VmIdentity

NOW = 1_700_000_000
OWNER = Account.generate().address
DELEGATE = Account.generate().address


def signed(account: Account, method: str, path: str, body: bytes,
           stamp: int = NOW) -> dict[str, str]:
    return {"x-fishnet-address": account.address, "x-fishnet-timestamp": str(stamp),
            "x-fishnet-signature": account.sign(request_text(method, path, str(stamp), body))}


def test_verifier_accepts_once_and_refuses_what_does_not_match() -> None:
    verifier = RequestVerifier(clock=lambda: NOW)
    alice = Account.generate()
    headers = signed(alice, "PUT", "/datasets?x=1", b"{}")
    assert verifier.verify("PUT", "/datasets?x=1", headers, b"{}") == alice.address
    with pytest.raises(Unauthorized, match="replayed"):
        verifier.verify("PUT", "/datasets?x=1", headers, b"{}")
    fresh = signed(alice, "PUT", "/datasets", b"{}")
    for method, path, body in (("POST", "/datasets", b"{}"), ("PUT", "/datasets?", b"{}"),
                               ("PUT", "/datasets", b"{ }")):
        with pytest.raises(Unauthorized):
            verifier.verify(method, path, fresh, body)
    for skew, accepted in ((-300, True), (300, True), (-301, False), (301, False)):
        headers = signed(alice, "GET", f"/r{skew}", b"", NOW + skew)
        if accepted:
            verifier.verify("GET", f"/r{skew}", headers, b"")
        else:
            with pytest.raises(Unauthorized, match="clock"):
                verifier.verify("GET", f"/r{skew}", headers, b"")


def post(item_hash: str, fields: dict[str, Any], sender: str = OWNER, address: str = OWNER,
         ref: str | None = None, time: float = 1.0, kind: str = "Dataset") -> dict[str, Any]:
    content = (wire.amend_content(ref, fields, address, time) if ref
               else wire.create_content(kind, fields, address, time))
    return {"type": "POST", "item_hash": item_hash, "sender": sender, "content": content}


def dataset(name: str, ts: list[str] | None = None) -> dict[str, Any]:
    return Dataset(name=name, owner=OWNER, ownsAllTimeseries=True,
                   timeseriesIDs=ts or ["t"]).content()


def test_index_trusts_owner_and_delegates_only() -> None:
    index = RecordIndex(OWNER)
    assert index.apply(post("a", dataset("by owner")))
    assert not index.apply(post("b", dataset("by stranger"), sender=DELEGATE))
    index.delegates = {DELEGATE.lower()}
    assert index.apply(post("b", dataset("by delegate"), sender=DELEGATE))
    assert not index.apply(post("c", dataset("for someone else"), address=DELEGATE,
                                sender=DELEGATE))
    assert not index.apply(post("a", dataset("again")))  # already known
    assert sorted(d.name for d in index.find(Dataset)) == ["by delegate", "by owner"]


def test_index_amends_in_any_order_and_forgets() -> None:
    index = RecordIndex(OWNER)
    # the amend arrives before its original: applied once the original is there
    index.apply(post("m2", dataset("v2", ["t2"]), ref="orig", time=2.0))
    assert index.get(Dataset, "orig") is None
    index.apply(post("orig", dataset("v1", ["t1"])))
    current = index.get(Dataset, "orig")
    assert current is not None and current.name == "v2"
    assert current.revision_hashes == ["orig", "m2"]
    assert index.find(Dataset, timeseriesIDs="t1") == []
    assert [d.name for d in index.find(Dataset, timeseriesIDs="T2")] == ["v2"]
    index.apply({"type": "FORGET", "content": {"hashes": ["m2"]}})
    back = index.get(Dataset, "orig")
    assert back is not None and back.name == "v1"
    index.apply({"type": "FORGET", "content": {"hashes": ["orig"]}})
    assert index.get(Dataset, "orig") is None and index.count(Dataset) == 0


def test_bulk_load_equals_one_by_one() -> None:
    messages = [post(f"o{i}", dataset(f"d{i}", [f"t{i}"]), time=float(i)) for i in range(20)]
    messages += [post(f"a{i}", dataset(f"d{i}+", [f"u{i}"]), ref=f"o{i}", time=100.0 + i)
                 for i in range(0, 20, 3)]
    messages.append(post("x", dataset("stranger"), sender=DELEGATE))
    one, bulk = RecordIndex(OWNER), RecordIndex(OWNER)
    one.apply_all(messages)
    half = len(messages) // 2
    assert bulk.load(messages[:half]) == []
    assert [m["item_hash"] for m in bulk.load(messages[half:] + messages[:3])] == ["x"]
    assert bulk.bodies(Dataset) == one.bodies(Dataset)
    assert bulk.find(Dataset, timeseriesIDs="u3") == one.find(Dataset, timeseriesIDs="u3")


def test_signature_hash_is_remembered() -> None:
    index = RecordIndex(OWNER)
    index.apply(post("a", {**dataset("x"), "signatureHash": "abc"}))
    assert index.signature_used("abc") and not index.signature_used("abd")


def test_slices_from_cut_points() -> None:
    assert parse_slices("") == [Slice()]
    assert parse_slices("100, 2020-01-01") == [
        Slice(end=100), Slice(start=100, end=1577836800), Slice(start=1577836800)]
    with pytest.raises(ValueError):
        parse_slices("200,100")


def test_tables_detect_time_column_and_numeric_columns() -> None:
    csv = b"close,Date,label,volume\n1.5,2020-01-02,a,10\n2.5,2020-01-01,b,\n"
    columns = table_columns(read_table(csv))
    assert sorted(columns) == ["close", "volume"]
    assert list(columns["close"].to_numpy()) == [2.5, 1.5]  # sorted by time
    assert len(columns["volume"]) == 1
    epochs = table_columns(read_table(b"t,v\n1577836800000,1\n1577923200000,2\n"))
    assert str(epochs["v"].index[0]) == "2020-01-01 00:00:00+00:00"
    assert series_stats(columns["close"])["median"] == 2.0
    out = to_csv(columns).splitlines()
    assert out[0] == "timestamp,close,volume" and out[1] == "2020-01-01T00:00:00+0000,2.5,"
    for bad in (b"", b"only\n1\n", b"a,b\nx,y\n", b"PAR1garbage"):
        with pytest.raises(DataError):
            table_columns(read_table(bad))


def test_parquet_upload_is_read() -> None:
    frame = pd.DataFrame({"timestamp": pd.to_datetime([1, 2], unit="D", utc=True),
                          "value": [1.0, 2.0]})
    columns = table_columns(read_table(frame.to_parquet()))
    assert list(columns) == ["value"] and json.dumps(list(columns["value"])) == "[1.0, 2.0]"


async def test_asgi_build_follows_the_vm_contract(tmp_path: Path) -> None:
    env = {"FISHNET_ROLE": "api", "FISHNET_CHANNEL": "C", "FISHNET_OWNER": OWNER,
           "FISHNET_STACK": "s", "FISHNET_VERSION": "1.2", "FISHNET_RELEASE": "4",
           "FISHNET_DATA_DIR": str(tmp_path), "ALEPH_API_HOST": "http://127.0.0.1:1",
           "FISHNET_SLICES": "100"}
    app = build(env, tree_hash="abc")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://vm") as http:
        health = (await http.get("/health")).json()
        identity = (await http.get("/identity")).json()
    assert health == {"status": "ok", "role": "api", "version": "1.2", "release": 4,
                      "tree_hash": "abc"}
    assert identity["address"] == VmIdentity.load_or_create(tmp_path).address
    with pytest.raises(ValueError):
        build({**env, "FISHNET_SLICES": "x"})
