"""apply on a real devnet: VMs answer /health with their archive's tree hash, a second apply
sends nothing, only affected programs are replaced, rollback/gc/destroy do what they say."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import httpx
import pytest

from fishnet_stack import deploy
from fishnet_stack.aleph.accounts import create_key_file
from fishnet_stack.build import AppSource, build_code
from fishnet_stack.devnet.daemon import find_devnet, stop_devnet
from tests.conftest import DevnetHandle, free_port
from tests.deploy.conftest import FIXTURE_APP, MakeStack, run_cli, stack_yaml

pytestmark = pytest.mark.slow

SPLIT = ("{end: 2020-01-01}", "{start: 2020-01-01, end: 2024-01-01}", "{start: 2024-01-01}")


def test_apply_runs_the_built_code_and_a_second_apply_sends_nothing(
        make_stack: MakeStack, tmp_path: Path) -> None:
    app = tmp_path / "app" / "fixture_app"
    shutil.copytree(FIXTURE_APP, app, ignore=shutil.ignore_patterns("__pycache__"))
    stack = make_stack(app=app)
    tree = build_code(AppSource(app, "fixture_app:create_app")).tree_hash
    code, text = stack.cli("apply", "--auto-approve")
    assert code == 0, text
    assert "release 1 active" in text
    urls = stack.urls()
    assert len(urls) == 3
    for url in urls:
        health = stack.health(url)
        assert health == {"status": "ok", "role": health["role"], "version": "0.1.0",
                          "release": 1, "tree_hash": tree}
    roles = [stack.health(u)["role"] for u in urls]
    assert roles == ["api", "executor", "executor"]
    slices = [httpx.get(u + "/", timeout=30).json()["slice"] for u in urls[1:]]
    assert slices == [[None, "2020-01-01T00:00:00+00:00"], ["2020-01-01T00:00:00+00:00", None]]

    assert stack.cli("plan", "--detailed-exitcode")[0] == 0
    sent = stack.count_sent()
    code, text = stack.cli("apply", "--auto-approve")
    assert code == 0 and "No changes" in text
    assert stack.count_sent() == sent

    (app / "__init__.py").write_text((app / "__init__.py").read_text() + "\n# changed\n")
    assert all(stack.health(u)["tree_hash"] == tree for u in urls)
    code, text = stack.cli("plan")
    assert code == 1 and "bump versions.api" in text

    stack.write(api_version="0.1.1", executor_version="0.1.1")
    code, text = stack.cli("apply", "--auto-approve")
    assert code == 0, text
    new_tree = build_code(AppSource(app, "fixture_app:create_app")).tree_hash
    assert {stack.health(u)["tree_hash"] for u in stack.urls()} == {new_tree}
    assert all(stack.health(u)["tree_hash"] == tree for u in urls), "old VMs keep old code"


def test_only_affected_programs_are_replaced_then_rollback_gc_destroy(
        make_stack: MakeStack) -> None:
    stack = make_stack()
    assert stack.cli("apply", "--auto-approve")[0] == 0
    first = stack.output()

    stack.write(slices=SPLIT)
    code, text = stack.cli("apply", "--auto-approve")
    assert code == 0, text
    second = stack.output()
    assert second["api"] == first["api"]
    assert second["executors"][0] == first["executors"][0]
    assert {e["item_hash"] for e in second["executors"][1:]}.isdisjoint(
        {e["item_hash"] for e in first["executors"]})
    assert len(stack.messages("PROGRAM")) == 5

    code, text = stack.cli("rollback", "--to", "1", "--auto-approve")
    assert code == 0, text
    rolled = stack.output()
    assert rolled["manifest"]["active"] == 1
    assert rolled["api"] == first["api"] and rolled["executors"] == first["executors"]
    assert len(stack.messages("PROGRAM")) == 5, "rollback must not create programs"
    security = stack.aggregate("security") or {}
    ours = {e["address"] for e in security.get("authorizations", [])
            if e.get("fishnet_stack") == stack.name}
    manifest = stack.aggregate(f"fishnet-stack:{stack.name}")
    assert manifest is not None
    assert ours == set(manifest["releases"]["1"]["authorized"]) and len(ours) == 3

    stack.write(slices=SPLIT, retain=1)
    code, text = stack.cli("apply", "--auto-approve")
    assert code == 0 and "release 3 active" in text and "0 program(s) created" in text
    code, text = stack.cli("gc", "--auto-approve")
    assert code == 0, text
    manifest = stack.aggregate(f"fishnet-stack:{stack.name}")
    assert manifest is not None and sorted(manifest["releases"]) == ["3"]
    live = {m["item_hash"] for m in stack.messages("PROGRAM")}
    assert live == {h["item_hash"] for h in stack.output()["api"] + stack.output()["executors"]}
    code, text = stack.cli("rollback", "--to", "1", "--auto-approve")
    assert code == 1 and "release 1" in text

    code, text = stack.cli("destroy", "--auto-approve")
    assert code == 0, text
    assert stack.messages("PROGRAM") == [] and stack.messages("STORE") == []
    security = stack.aggregate("security") or {}
    assert not [e for e in security.get("authorizations", [])
                if e.get("fishnet_stack") == stack.name]
    code, text = stack.cli("plan", "--detailed-exitcode")
    assert code == 2
    assert text.count("+ program") == 4 and "+ store" in text


def test_stale_saved_plan_is_refused(make_stack: MakeStack, tmp_path: Path) -> None:
    stack = make_stack()
    assert stack.cli("apply", "--auto-approve")[0] == 0
    stack.write(variables="{GREETING: hi}")
    saved = tmp_path / "saved.plan"
    code, text = stack.cli("plan", "-out", str(saved))
    assert code == 0 and saved.exists(), text
    stack.write(variables="{GREETING: hey}")
    assert stack.cli("apply", "--auto-approve")[0] == 0
    sent = stack.count_sent()
    code, text = run_apply(saved)
    assert code == 1 and "stale" in text and "manifest changed" in text
    assert stack.count_sent() == sent


def test_saved_plan_applies_when_fresh(make_stack: MakeStack, tmp_path: Path) -> None:
    stack = make_stack()
    saved = tmp_path / "saved.plan"
    assert stack.cli("plan", "--out", str(saved))[0] == 0
    code, text = run_apply(saved)
    assert code == 0 and "release 1 active" in text, text
    assert stack.cli("plan", "--detailed-exitcode")[0] == 0


def run_apply(plan_file: Path) -> tuple[int, str]:
    return run_cli("apply", str(plan_file))


def test_python_api_status_and_logs(make_stack: MakeStack) -> None:
    stack = make_stack()
    target = deploy.open_target(stack.path)
    planned = asyncio.run(deploy.plan(target))
    result = asyncio.run(deploy.apply(target, planned))
    assert result.release == 1 and len(result.created) == 3
    code, text = stack.cli("status")
    assert code == 0 and text.count(" healthy ") == 3, text
    code, text = stack.cli("logs", "--vm", result.created[0][:12])
    assert code == 0 and f"devnet boot of {result.created[0]}" in text
    code, text = stack.cli("logs", "--vm", "zz")
    assert code == 1 and "matches 0 program(s)" in text
    assert asyncio.run(deploy.destroy(target)).sent == 4
    code, text = stack.cli("status")
    assert code == 0 and "nothing deployed" in text


def test_plan_starts_devnet_when_it_is_not_running(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data_dir = tmp_path / "devnet"
    monkeypatch.setenv("FISHNET_DEVNET_DIR", str(data_dir))
    monkeypatch.setenv("FISHNET_DEVNET_PORT", str(free_port()))
    path = tmp_path / "stack.yaml"
    path.write_text(stack_yaml("t-autostart", "T_AUTOSTART", FIXTURE_APP))
    try:
        code, text = run_cli("plan", str(path))
        assert code == 0, text
        assert "devnet was not running: started it at" in text
        assert find_devnet(data_dir) is not None
        code, text = run_cli("plan", str(path))
        assert code == 0 and "started" not in text
    finally:
        stop_devnet(data_dir)


def test_authorize_adds_an_entry_and_keeps_the_others(
        devnet_env: DevnetHandle, tmp_path: Path) -> None:
    key = tmp_path / "owner.key"
    owner = create_key_file(key)
    first, second = "0x" + "1" * 40, "0x" + "2" * 40
    for address in (first, second, second):
        code, text = run_cli("authorize", str(key), address, "--channel", "DEV",
                             "--node", devnet_env.url)
        assert code == 0, text
    response = httpx.get(f"{devnet_env.url}/api/v0/aggregates/{owner.address}.json",
                         params={"keys": "security"}, timeout=30)
    entries = response.json()["data"]["security"]["authorizations"]
    assert [e["address"] for e in entries] == [first, second]
    assert entries[0]["channels"] == ["DEV"] and entries[0]["types"] == ["POST", "STORE"]
