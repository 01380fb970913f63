"""Discovery and verification refuse what the owner's keys do not back: a manifest naming a VM
the owner never authorised, and results posted by keys outside the execution's release."""

from __future__ import annotations

import pytest

from fishnet_stack.aleph.accounts import Account
from fishnet_stack.aleph.client import AlephClient
from fishnet_stack.aleph.reader import NodeReader
from fishnet_stack.errors import UntrustedDeployment
from fishnet_stack.manifest import Manifest, manifest_key
from fishnet_stack.model import Result
from fishnet_stack.records import Records
from fishnet_stack.sdk.discovery import discover
from fishnet_stack.sdk.results import ExecutionResult
from tests.conftest import DevnetHandle

API, EXECUTOR = "a" * 64, "e" * 64


def manifest(vm: Account) -> dict[str, object]:
    return {"serial": 1, "active": 1, "releases": {"1": {
        "versions": {"api": "0.1.0", "executor": "0.1.0"}, "created": 0.0, "api": [API],
        "executors": [{"item_hash": EXECUTOR, "start": None, "end": None}],
        "authorized": [vm.address], "identities": {API: vm.address, EXECUTOR: vm.address},
        "deprecated": False}}}


async def publish(url: str, owner: Account, channel: str, authorised: list[str],
                  stack: str, vm: Account) -> None:
    async with AlephClient(url, owner) as aleph:
        await aleph.submit("AGGREGATE", {"key": "security", "content": {"authorizations": [
            {"address": a, "channels": [channel], "types": ["POST", "STORE"]}
            for a in authorised]}}, channel)
        await aleph.submit("AGGREGATE", {"key": manifest_key(stack), "content": manifest(vm)},
                           channel)


async def test_a_manifest_naming_an_unauthorised_vm_is_refused(devnet: DevnetHandle) -> None:
    owner, vm = Account.generate(), Account.generate()
    await publish(devnet.url, owner, "TRUST", [], "rogue", vm)
    with pytest.raises(UntrustedDeployment, match="has not authorised"):
        discover(NodeReader(devnet.url), owner.address, "rogue", devnet=True)
    await publish(devnet.url, owner, "TRUST", [vm.address], "rogue", vm)
    found = discover(NodeReader(devnet.url), owner.address, "rogue", devnet=True)
    assert found.api_urls == (f"{devnet.url}/vm/{API}",)


async def test_verify_refuses_results_from_keys_outside_the_release(devnet: DevnetHandle) -> None:
    owner, executor, outsider = Account.generate(), Account.generate(), Account.generate()
    # The outsider is a delegate of the owner (so the node accepts its posts for the owner),
    # but not a VM of the release the execution ran on.
    await publish(devnet.url, owner, "TRUST2", [executor.address, outsider.address], "s",
                  executor)
    node = NodeReader(devnet.url)
    parsed = Manifest.parse(node.aggregate(owner.address, manifest_key("s")) or {})
    execution = {"release": 1}

    async def post_result(poster: Account) -> str:
        async with AlephClient(devnet.url, poster) as aleph:
            saved = await Records(aleph, "TRUST2", owner.address).save(
                Result(executionID="x" * 64, owner=owner.address, data={"v": 1}))
        return str(saved.item_hash)

    def result(result_id: str) -> ExecutionResult:
        return ExecutionResult(execution_id="x" * 64, status="SUCCESS", kind="json",
                               data={"v": 1}, result_id=result_id, data_hash=None,
                               execution=execution)

    result(await post_result(executor)).verify_against(node, owner.address, parsed)
    with pytest.raises(UntrustedDeployment, match="not an executor authorised"):
        result(await post_result(outsider)).verify_against(node, owner.address, parsed)
    async with AlephClient(devnet.url, outsider) as aleph:  # for itself, not for the owner
        own = await Records(aleph, "TRUST2").save(
            Result(executionID="x" * 64, owner=outsider.address, data={"v": 1}))
    with pytest.raises(UntrustedDeployment, match="not posted for"):
        result(str(own.item_hash)).verify_against(node, owner.address, parsed)
