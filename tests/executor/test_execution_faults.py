"""Executors under faults: hostile code, duplicate executors, a killed executor, an old release."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest

from fishnet_stack.aleph.client import AlephClient
from tests.conftest import DevnetHandle
from tests.executor.conftest import RELEASE, Deployment, ExecutorProcess, launch, shut_down
from tests.executor.support import FULL, dataset, execute
from tests.executor.test_sandbox import HOSTILE

pytestmark = pytest.mark.slow

SUM = "def run(df, params):\n    return df.sum()\n\ndef aggregate(p, params):\n    return sum(p)\n"
SLOW_SUM = "import time\n\ndef run(df, params):\n    time.sleep(params['sleep'])\n" \
           "    return df.sum()\n\ndef aggregate(p, params):\n    return sum(p)\n"
RUN_SECONDS = 4  # short leases: a killed executor's claim expires within ~18 s


@pytest.fixture(scope="module")
def deployment(devnet: DevnetHandle,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """API + executors 0 and 1 + a second copy of executor 1 + an executor of an older release
    for slice 1, all authorised."""
    made = launch(devnet, tmp_path_factory.mktemp("faults"), [
        (0, RELEASE, RUN_SECONDS), (1, RELEASE, RUN_SECONDS), (1, RELEASE, RUN_SECONDS),
        (1, RELEASE - 1, RUN_SECONDS)], prefix="FAULT")
    yield made
    shut_down(made)


async def channel_records(deployment: Deployment, post_type: str) -> list[dict[str, Any]]:
    async with AlephClient(deployment.devnet.url) as aleph:
        return [p async for p in aleph.messages(msgTypes="POST", channels=deployment.channel,
                                                contentTypes=post_type)]


@pytest.fixture(scope="module")
async def owned(deployment: Deployment) -> tuple[Any, str]:
    owner = deployment.wallet()
    return owner, await dataset(owner, FULL)


HARMLESS_BUT_CHECKED = {
    "environment dump": "import os\ndef run(df, p):\n    return dict(os.environ)\n",
    "os.system": "import os\ndef run(df, p):\n    return os.system('cat {key}')\n",
}


@pytest.mark.parametrize("name", sorted(HOSTILE) + sorted(HARMLESS_BUT_CHECKED))
async def test_hostile_code_fails_or_learns_nothing_and_the_next_execution_succeeds(
    deployment: Deployment, owned: tuple[Any, str], name: str
) -> None:
    owner, dataset_id = owned
    key_file = deployment.executors[0].data_dir / "key"
    secret = key_file.read_text().strip()
    code = {**HOSTILE, **HARMLESS_BUT_CHECKED}[name].format(key=str(key_file))
    if name in HOSTILE:
        failed = await execute(deployment, owner, dataset_id, code, expect="FAILED")
        result = await owner.ok("GET", f"/executions/{failed['item_hash']}/result")
        assert result.get("error"), result
        assert secret.removeprefix("0x") not in str(result)
    else:
        got = await execute(deployment, owner, dataset_id, code)
        assert secret.removeprefix("0x") not in str(got), name
    follow_up = await execute(deployment, owner, dataset_id, SUM)
    assert follow_up["btc"] == pytest.approx(FULL["btc"].sum(), rel=1e-9)


async def test_copies_never_compute_a_slice_twice_and_old_releases_ignore_work(
    deployment: Deployment, owned: tuple[Any, str]
) -> None:
    owner, dataset_id = owned
    for _ in range(3):
        await execute(deployment, owner, dataset_id, SUM)
    partials: dict[tuple[str, int], int] = {}
    for message in await channel_records(deployment, "Result"):
        content = message["content"]["content"]
        if content.get("slice") is not None:
            key = (content["executionID"], content["slice"])
            partials[key] = partials.get(key, 0) + 1
    assert partials and all(count == 1 for count in partials.values()), partials
    old = deployment.executors[3].address
    claimants = {m["content"]["content"]["executor"]
                 for m in await channel_records(deployment, "Claim")}
    assert old not in claimants, "an executor of an older release claimed work"


async def test_a_killed_executor_is_taken_over(deployment: Deployment,
                                               owned: tuple[Any, str]) -> None:
    owner, dataset_id = owned
    algorithm = await owner.ok("PUT", "/algorithms", {"name": "slow", "desc": "sleeps",
                                                      "code": SLOW_SUM})
    answer = await owner.ok("POST", "/executions", {"algorithmID": algorithm["item_hash"],
                                                    "datasetID": dataset_id,
                                                    "params": {"sleep": 2}})
    execution_id = answer["execution"]["item_hash"]
    holder = await _slice_holder(deployment, execution_id, 1)
    victim: ExecutorProcess = next(e for e in deployment.executors if e.address == holder)
    victim.stop(signal.SIGKILL)
    deadline = time.monotonic() + 90
    while True:
        found = await owner.ok("GET", f"/executions/{execution_id}")
        if found["status"] in ("SUCCESS", "FAILED"):
            break
        assert time.monotonic() < deadline, f"execution stuck in {found['status']}"
        await asyncio.sleep(0.5)
    assert found["status"] == "SUCCESS", found
    claimants = [m["content"]["content"]["executor"]
                 for m in await channel_records(deployment, "Claim")
                 if m["content"]["content"]["executionID"] == execution_id
                 and m["content"]["content"]["slice"] == 1]
    assert holder in claimants and len(set(claimants)) == 2, claimants


async def _slice_holder(deployment: Deployment, execution_id: str, index: int) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for message in await channel_records(deployment, "Claim"):
            content = message["content"]["content"]
            if content["executionID"] == execution_id and content["slice"] == index:
                return str(content["executor"])
        await asyncio.sleep(0.1)
    raise AssertionError(f"nobody claimed slice {index} of {execution_id}")
