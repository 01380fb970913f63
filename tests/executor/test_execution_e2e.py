"""Executions end to end: API app + two executors on a devnet; results equal pandas on the full
data (relative tolerance 1e-9)."""

from __future__ import annotations

import httpx
import numpy as np
import pytest

from tests.api.conftest import Wallet
from tests.devnet.support import wait_for
from tests.executor.conftest import Deployment
from tests.executor.support import FULL, dataset, execute, same_frame

pytestmark = pytest.mark.slow

SUM = """
def run(df, params):
    return df.sum()

def aggregate(partials, params):
    return sum(partials)
"""
MEAN = """
def run(df, params):
    return {"sum": df.sum().to_dict(), "count": df.count().to_dict()}

def aggregate(partials, params):
    total = {k: sum(p["sum"][k] for p in partials) for k in partials[0]["sum"]}
    count = {k: sum(p["count"][k] for p in partials) for k in partials[0]["count"]}
    return {k: total[k] / count[k] for k in total}
"""
TRANSFORM = """
import httpx
import numpy as np

def run(df, params):
    return np.log(df) * params.get("scale", 1.0)
"""
ROLLING = """
LOOKBACK = "30D"

def run(df, params):
    return df.rolling("30D").mean()
"""


@pytest.fixture(scope="module")
async def owned(deployment: Deployment) -> tuple[Wallet, str]:
    owner = deployment.wallet()
    return owner, await dataset(owner, FULL)


async def test_sum_with_aggregate(deployment: Deployment, owned: tuple[Wallet, str]) -> None:
    owner, dataset_id = owned
    got = await execute(deployment, owner, dataset_id, SUM)
    expected = FULL.sum()
    np.testing.assert_allclose(got.reindex(expected.index).to_numpy(), expected.to_numpy(),
                               rtol=1e-9)


async def test_mean_via_sums_and_counts(deployment: Deployment,
                                        owned: tuple[Wallet, str]) -> None:
    owner, dataset_id = owned
    got = await execute(deployment, owner, dataset_id, MEAN)
    for column in FULL.columns:
        assert got[column] == pytest.approx(FULL[column].mean(), rel=1e-9)


async def test_row_wise_transform_is_concatenated(deployment: Deployment,
                                                  owned: tuple[Wallet, str]) -> None:
    owner, dataset_id = owned
    got = await execute(deployment, owner, dataset_id, TRANSFORM, {"scale": 2.0})
    same_frame(got, np.log(FULL) * 2.0)


async def test_rolling_mean_with_lookback(deployment: Deployment,
                                          owned: tuple[Wallet, str]) -> None:
    owner, dataset_id = owned
    got = await execute(deployment, owner, dataset_id, ROLLING)
    same_frame(got, FULL.rolling("30D").mean())


async def test_result_contract_json_and_parquet(deployment: Deployment,
                                                owned: tuple[Wallet, str]) -> None:
    """``GET /executions/{id}/result``: a series as {label: value}, a frame as orient="split"
    with ISO timestamps, ``?format=parquet`` the bytes (and 400 for non-tables)."""
    owner, dataset_id = owned
    runs = {}
    for name, code in (("series", SUM), ("frame", TRANSFORM), ("json", MEAN)):
        algorithm = await owner.ok("PUT", "/algorithms", {"name": name, "desc": "", "code": code})
        answer = await owner.ok("POST", "/executions", {"algorithmID": algorithm["item_hash"],
                                                        "datasetID": dataset_id})
        runs[name] = answer["execution"]["item_hash"]
    bodies = {}
    for name, execution_id in runs.items():
        path = f"/executions/{execution_id}/result"
        bodies[name] = await wait_for(lambda p=path: owner.request("GET", p),
                                      lambda r: r.status_code == 200, timeout=120,
                                      what=f"{name} result")
    series = bodies["series"].json()
    assert series["kind"] == "series" and series["status"] == "SUCCESS"
    assert series["data"]["btc"] == pytest.approx(FULL["btc"].sum(), rel=1e-9)
    frame = bodies["frame"].json()
    assert frame["kind"] == "dataframe" and frame["data"]["columns"] == ["btc", "eth"]
    assert frame["data"]["index"][0].startswith("2019-10-01T00:00:00")
    assert len(frame["data"]["data"]) == len(FULL)
    parquet = await owner.request("GET", f"/executions/{runs['frame']}/result",
                                  params={"format": "parquet"})
    assert parquet.status_code == 200 and parquet.content[:4] == b"PAR1"
    assert bodies["json"].json()["kind"] == "json"
    refused = await owner.request("GET", f"/executions/{runs['json']}/result",
                                  params={"format": "parquet"})
    assert refused.status_code == 400


def test_health_reports_the_sandbox_layers(deployment: Deployment) -> None:
    for executor in deployment.executors:
        health = httpx.get(f"{executor.url}/health", timeout=30).json()
        assert health["role"] == "executor" and health["status"] == "ok"
        assert {"seccomp", "network-namespace", "hidden:/proc"} <= set(
            health["sandbox"]["active"]), health
