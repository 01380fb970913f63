"""The SDK against a real deployment (devnet, two API instances, two executors)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fishnet_stack.errors import (
    ConfigError,
    ExecutionFailed,
    NotFound,
    PermissionDenied,
    SignatureRejected,
)
from fishnet_stack.sdk import ExecutionResult, Fishnet, Wallet
from tests.sdk import algorithms_volatility
from tests.sdk.conftest import SdkStack

pytestmark = pytest.mark.slow

INDEX = pd.date_range("2019-11-01", "2020-02-29", freq="D", tz="UTC")
PRICES = pd.DataFrame({"btc": 100 * np.exp(np.linspace(0, 0.4, len(INDEX))),
                       "eth": 50 * np.exp(np.linspace(0, -0.2, len(INDEX)))}, index=INDEX)


def test_wallets_are_files_of_mode_0600_or_env(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "keys" / "me.key"
    created = Wallet.create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert Wallet.from_file(path).address == created.address
    with pytest.raises(ConfigError, match="already exists"):
        Wallet.create(path)
    monkeypatch.setenv("ME_KEY", path.read_text().strip())
    assert Wallet.from_env("ME_KEY").address == created.address
    os.chmod(path, 0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        Wallet.from_file(path)


def test_owner_uploads_and_researcher_needs_a_grant(sdk_stack: SdkStack) -> None:
    owner = sdk_stack.connect(Wallet.ephemeral())
    researcher = sdk_stack.connect(Wallet.ephemeral())
    series = owner.timeseries.upload(PRICES)
    assert sorted(s["name"] for s in series) == ["btc", "eth"]
    dataset = owner.datasets.create("prices", series, price="10")
    assert owner.datasets.get(dataset["item_hash"])["name"] == "prices"
    assert any(d["item_hash"] == dataset["item_hash"] for d in researcher.datasets.list())
    downloaded = owner.datasets.download(dataset)
    np.testing.assert_allclose(downloaded[["btc", "eth"]].to_numpy(), PRICES.to_numpy(),
                               rtol=1e-12)
    with pytest.raises(PermissionDenied):
        researcher.datasets.download(dataset)
    requests = researcher.permissions.request(dataset)
    assert requests and all(p["status"] == "REQUESTED" for p in requests)
    incoming = owner.permissions.incoming()
    assert {p["item_hash"] for p in requests} <= {p["item_hash"] for p in incoming}
    owner.permissions.approve(requests)
    np.testing.assert_allclose(researcher.datasets.download(dataset)[["btc", "eth"]].to_numpy(),
                               PRICES.to_numpy(), rtol=1e-12)


def test_function_algorithms_run_across_both_executors(sdk_stack: SdkStack) -> None:
    owner = sdk_stack.connect(Wallet.ephemeral())
    series = owner.timeseries.upload(PRICES)
    dataset = owner.datasets.create("free prices", series, price="0")
    algorithm = owner.algorithms.register(algorithms_volatility.run)
    assert algorithm["code"].startswith('"""An algorithm module')
    result = owner.executions.run(dataset, algorithm, progress=False)
    got = result.to_pandas()
    expected = algorithms_volatility.run(PRICES, {})
    got.index = pd.DatetimeIndex(got.index).as_unit("ns")
    expected.index = expected.index.as_unit("ns")
    pd.testing.assert_frame_equal(got[["btc", "eth"]], expected, check_freq=False,
                                  check_names=False, rtol=1e-9)


def test_typed_errors(sdk_stack: SdkStack) -> None:
    anonymous = Fishnet([api.url for api in sdk_stack.apis], None)
    with pytest.raises(SignatureRejected):
        anonymous.algorithms.register("def run(df, params):\n    return 1\n")
    with pytest.raises(NotFound):
        anonymous.datasets.get("0" * 64)


def test_reads_fail_over_when_one_api_instance_is_down(sdk_stack: SdkStack) -> None:
    fishnet = sdk_stack.connect(Wallet.ephemeral())
    algorithm = fishnet.algorithms.register("def run(df, params):\n    return 1\n", name="one")
    sdk_stack.apis[0].stop()
    try:
        for _ in range(4):  # round-robin would hit the stopped instance every other call
            assert fishnet.algorithms.get(algorithm["item_hash"])["name"] == "one"
        fishnet.algorithms.register("def run(df, params):\n    return 2\n", name="two")
    finally:
        sdk_stack.apis[0].start()


def test_the_rest_of_the_surface(sdk_stack: SdkStack, tmp_path: Path) -> None:
    owner = sdk_stack.connect(Wallet.ephemeral())
    researcher = sdk_stack.connect(Wallet.ephemeral())
    [btc] = owner.timeseries.upload(PRICES["btc"], name="btc-series")
    assert btc["name"] == "btc-series"
    csv = tmp_path / "eth.csv"
    PRICES[["eth"]].rename_axis("timestamp").to_csv(csv)
    [eth] = owner.timeseries.upload(csv)
    assert eth["name"] == "eth" and owner.timeseries.get(eth["item_hash"])["owner"] == \
        owner.address
    dataset = owner.datasets.create("paid", [btc, eth], price="5", desc="two series")
    assert dataset["item_hash"] in [d["item_hash"] for d in owner.datasets.list(
        by=owner.address)]

    algorithm = researcher.algorithms.register(
        "def run(df, params):\n    return {'rows': int(len(df))}\n\n"
        "def aggregate(parts, params):\n    return {'rows': sum(p['rows'] for p in parts)}\n",
        name="count")
    assert researcher.algorithms.get(algorithm["item_hash"])["name"] == "count"
    assert algorithm["item_hash"] in [a["item_hash"] for a in researcher.algorithms.list()]

    waiting = researcher.executions.run(dataset, algorithm, wait=False)
    assert isinstance(waiting, dict) and waiting["execution"]["status"] == "REQUESTED"
    requested = waiting["permissionRequests"]
    assert {p["item_hash"] for p in requested} <= {p["item_hash"] for p in
                                                   researcher.permissions.outgoing()}
    assert owner.notifications(), "the owner is told about the requests"
    owner.permissions.deny(requested)
    execution_id = waiting["execution"]["item_hash"]
    with pytest.raises(ExecutionFailed, match="DENIED"):
        researcher.executions.wait(execution_id, progress=False)

    owner.permissions.grant(dataset, researcher.address, algorithm=algorithm, max_executions=1)
    result = researcher.executions.run(dataset, algorithm, progress=False)
    assert isinstance(result, ExecutionResult)
    assert result.to_pandas() == {"rows": len(PRICES)}  # one row per timestamp
    with pytest.raises(PermissionDenied):  # an algorithm-scoped grant never allows downloads
        researcher.datasets.download(dataset)
