"""Property tests of request validation: whatever the body, query or headers, never a 500
(DESIGN section 11), always JSON on errors."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api_app.auth import request_text
from fishnet_stack.aleph.accounts import Account
from tests.api.conftest import Stack

SETTINGS = settings(max_examples=60, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])
ACCOUNT = Account.generate()

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)
numbers = st.one_of(st.integers(1_500_000_000, 1_700_000_000), st.floats(),
                    st.integers(-(2**70), 2**70), st.sampled_from([-1e12, 1e12, 1e17, -1]))
shaped = st.one_of(
    st.fixed_dictionaries({"timeseries": st.lists(st.fixed_dictionaries(
        {"name": st.text(max_size=10), "data": st.lists(st.lists(numbers, max_size=3),
                                                         max_size=5)},
        optional={"item_hash": st.text(max_size=70), "desc": json_values}), max_size=3)}),
    st.fixed_dictionaries({"name": st.text(max_size=10), "timeseriesIDs": st.lists(
        st.text(max_size=70), max_size=3)}, optional={"price": json_values,
                                                      "item_hash": json_values}),
    st.fixed_dictionaries({"algorithmID": json_values, "datasetID": json_values},
                          optional={"params": json_values}),
    st.lists(json_values, max_size=3),
)
WRITES = ["/timeseries", "/datasets", "/algorithms", "/users", "/permissions/approve",
          "/permissions/deny", "/datasets/abc/views", "/permissions/datasets/abc/request",
          "/permissions/datasets/abc/grant"]


@pytest.fixture(scope="module")
def nonce() -> Iterator[int]:
    return itertools.count()


@pytest.fixture(scope="module")
def client(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.api.url, timeout=30) as http:
        yield http


def encode(value: Any) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


def signed(method: str, path: str, body: bytes, nonce: Iterator[int]) -> dict[str, str]:
    full = f"{path}?n={next(nonce)}"  # a fresh path per request: never a replay
    stamp = str(int(time.time()))
    return {"X-Fishnet-Address": ACCOUNT.address, "X-Fishnet-Timestamp": stamp,
            "X-Fishnet-Signature": ACCOUNT.sign(request_text(method, full, stamp, body)),
            "content-type": "application/json", "x-path": full}


def check(response: httpx.Response) -> None:
    assert response.status_code < 500, f"{response.status_code}: {response.text[:300]}"
    if response.status_code >= 400:
        assert "detail" in response.json()


@SETTINGS
@given(path=st.sampled_from(WRITES), body=shaped | json_values)
def test_signed_writes_with_any_json_body(client: httpx.Client, nonce: Iterator[int], path: str,
                                         body: Any) -> None:
    data = encode(body)
    method = "POST" if path == "/executions" else "PUT"
    headers = signed(method, path, data, nonce)
    check(client.request(method, headers.pop("x-path"), content=data, headers=headers))


@SETTINGS
@given(body=shaped)
def test_executions_with_any_body(client: httpx.Client, nonce: Iterator[int],
                                  body: Any) -> None:
    data = encode(body)
    headers = signed("POST", "/executions", data, nonce)
    check(client.post(headers.pop("x-path"), content=data, headers=headers))


@SETTINGS
@given(path=st.sampled_from(WRITES), data=st.binary(max_size=200))
def test_signed_writes_with_raw_bytes(client: httpx.Client, nonce: Iterator[int], path: str,
                                      data: bytes) -> None:
    headers = signed("PUT", path, data, nonce)
    check(client.put(headers.pop("x-path"), content=data, headers=headers))


query_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]),
                     max_size=20)


@SETTINGS
@given(route=st.sampled_from(["/datasets", "/algorithms", "/executions", "/users"]),
       params=st.dictionaries(st.sampled_from(["page", "page_size", "view_as", "by",
                                               "status", "dataset_id", "name", "x"]),
                              query_text, max_size=4))
def test_reads_with_any_query(client: httpx.Client, route: str, params: dict[str, str]) -> None:
    check(client.get(route, params=params))


header_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126),
                      max_size=140).map(str.strip)  # clients cannot send edge spaces


@SETTINGS
@given(address=header_text, stamp=header_text, signature=header_text,
       path=st.sampled_from(["/algorithms", "/results/x", "/datasets/x/timeseries/csv"]))
def test_any_signature_headers(client: httpx.Client, address: str, stamp: str,
                               signature: str, path: str) -> None:
    headers = {"X-Fishnet-Address": address, "X-Fishnet-Timestamp": stamp,
               "X-Fishnet-Signature": signature}
    method = "PUT" if path == "/algorithms" else "GET"
    response = client.request(method, path, headers=headers, content=b"{}")
    check(response)
    assert response.status_code == 401




csv_cells = st.one_of(st.text(alphabet="0123456789.-:TZ e", max_size=12), numbers.map(str))


@SETTINGS
@given(route=st.sampled_from(["/timeseries/upload", "/timeseries/csv"]),
       rows=st.lists(st.lists(csv_cells, min_size=1, max_size=3), max_size=6),
       header=st.lists(st.sampled_from(["timestamp", "date", "x", "", "value"]), min_size=1,
                       max_size=3),
       raw=st.none() | st.binary(max_size=100))
def test_uploads_of_any_table(client: httpx.Client, nonce: Iterator[int], route: str,
                              rows: list[list[str]], header: list[str],
                              raw: bytes | None) -> None:
    data = raw if raw is not None else "\n".join(
        ",".join(row) for row in [header, *rows]).encode()
    part = "data" if route.endswith("csv") else "file"
    request = client.build_request("POST", route, files={part: ("t.csv", data, "text/csv")})
    body = request.read()
    headers = signed("POST", route, body, nonce)
    request = client.build_request("POST", headers.pop("x-path"), content=body,
                                   headers={**headers,
                                            "content-type": request.headers["content-type"]})
    check(client.send(request))
