"""apply under faults: killed around every message, a node failing 20% of writes, and two
applies racing. Each ends with exactly the planned programs and a clean plan."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections import Counter

import pytest

from fishnet_stack.deploy import operations as ops
from fishnet_stack.deploy.journal import CRASH_EXIT_CODE
from fishnet_stack.errors import ConflictError
from tests.conftest import MakeDevnet
from tests.deploy.conftest import FixtureStack, MakeStack

pytestmark = pytest.mark.slow

# A first apply of the fixture stack sends: 2 code STOREs, 3 PROGRAMs, security, manifest.
FIRST_APPLY_MESSAGES = 7
CRASHES = [f"{k}{where}" for k in range(1, FIRST_APPLY_MESSAGES + 1) for where in ("", ":before")]


def assert_converged(stack: FixtureStack) -> None:
    programs = stack.messages("PROGRAM")
    slots = Counter(p["content"]["metadata"]["slot"] for p in programs)
    assert len(programs) == 3 and set(slots.values()) == {1}, slots
    stores = stack.messages("STORE")
    assert len(stores) == 2, [s["content"]["metadata"] for s in stores]
    code, text = stack.cli("plan", "--detailed-exitcode")
    assert code == 0, text
    document = stack.output()
    assert {e["item_hash"] for e in document["api"] + document["executors"]} == {
        p["item_hash"] for p in programs}
    for url in stack.urls():
        assert stack.health(url)["status"] == "ok"


def test_first_apply_sends_the_expected_number_of_messages(make_stack: MakeStack) -> None:
    stack = make_stack()
    code, text = stack.cli("apply", "--auto-approve")
    assert code == 0 and f"{FIRST_APPLY_MESSAGES} message(s) sent" in text, text


@pytest.mark.parametrize("crash", CRASHES)
def test_crash_then_plain_apply_converges(make_stack: MakeStack, crash: str) -> None:
    stack = make_stack()
    killed = stack.subprocess("apply", str(stack.path), "--auto-approve",
                              env={"FISHNET_APPLY_CRASH": crash})
    assert killed.returncode == CRASH_EXIT_CODE, killed.stderr
    journal = stack.path.parent / ".fishnet" / "journal" / f"{stack.name}.jsonl"
    assert journal.exists()
    code, text = stack.cli("apply", "--auto-approve")
    assert code == 0, text
    assert not journal.exists(), "a successful apply clears its journal"
    assert_converged(stack)


# A replacing apply (a stack-wide variable changed) sends: 3 PROGRAMs, security (old + new),
# manifest, security (new only). Crash around the last three, where releases change hands.
REPLACE_CRASHES = [f"{k}{where}" for k in (4, 5, 6) for where in ("", ":before")]


@pytest.mark.parametrize("crash", REPLACE_CRASHES)
def test_crash_during_a_replacement_then_plain_apply_converges(
        make_stack: MakeStack, crash: str) -> None:
    stack = make_stack()
    assert stack.cli("apply", "--auto-approve")[0] == 0
    stack.write(variables="{GREETING: replaced}")
    killed = stack.subprocess("apply", str(stack.path), "--auto-approve",
                              env={"FISHNET_APPLY_CRASH": crash})
    assert killed.returncode == CRASH_EXIT_CODE, killed.stderr
    code, text = stack.cli("apply", "--auto-approve")
    assert code == 0, text
    assert stack.cli("plan", "--detailed-exitcode")[0] == 0
    programs = stack.messages("PROGRAM")
    assert len(programs) == 6
    document = stack.output()
    active = {e["item_hash"] for e in document["api"] + document["executors"]}
    assert document["manifest"]["active"] == 2 and len(active) == 3
    manifest = stack.aggregate(f"fishnet-stack:{stack.name}")
    assert manifest is not None
    security = stack.aggregate("security") or {}
    ours = {e["address"] for e in security.get("authorizations", [])
            if e.get("fishnet_stack") == stack.name}
    assert ours == set(manifest["releases"]["2"]["authorized"]) and len(ours) == 3
    for url in stack.urls():
        assert stack.health(url)["status"] == "ok"


def test_devnet_failing_a_fifth_of_writes_still_converges(
        make_stack: MakeStack, make_devnet: MakeDevnet, monkeypatch: pytest.MonkeyPatch) -> None:
    flaky = make_devnet(fail_rate=0.2)
    monkeypatch.setenv("FISHNET_DEVNET_DIR", str(flaky.data_dir))
    monkeypatch.setenv("FISHNET_DEVNET_PORT", str(flaky.port))
    stack = make_stack(devnet=flaky)
    code, text = stack.cli("apply", "--auto-approve")
    assert code == 0, text
    assert_converged(stack)
    stack.write(variables="{GREETING: again}")
    code, text = stack.cli("apply", "--auto-approve")
    assert code == 0, text
    code, text = stack.cli("destroy", "--auto-approve")
    assert code == 0, text
    assert stack.messages("PROGRAM") == []


def test_apply_from_a_stale_view_of_the_manifest_reports_the_conflict(
        make_stack: MakeStack) -> None:
    """Another machine (here: a second apply) moved the manifest after this apply planned:
    the manifest check before writing refuses, naming the new serial; nothing is activated."""
    stack = make_stack()
    assert stack.cli("apply", "--auto-approve")[0] == 0
    stack.write(variables="{GREETING: mine}")
    target = ops.open_target(stack.path)
    built = ops.build_artifacts(target)
    mine = asyncio.run(ops.make_plan(target, built))
    stack.write(variables="{GREETING: theirs}")
    assert stack.cli("apply", "--auto-approve")[0] == 0
    theirs = stack.output()
    with pytest.raises(ConflictError, match="changed while applying.*serial 2"):
        asyncio.run(ops.apply(target, mine, built))
    assert stack.output() == theirs
    assert stack.cli("plan", "--detailed-exitcode")[0] == 0  # the file says "theirs" now


def test_two_concurrent_applies_one_wins_one_reports_the_conflict(
        make_stack: MakeStack) -> None:
    stack = make_stack()
    assert stack.cli("plan")[0] == 0  # creates the owner key before the race
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(lambda _: stack.subprocess("apply", str(stack.path),
                                                        "--auto-approve"), range(2)))
    codes = sorted(r.returncode for r in runs)
    assert codes == [0, 1], [(r.returncode, r.stderr[-500:]) for r in runs]
    loser = next(r for r in runs if r.returncode == 1)
    assert "another apply of this stack is running" in loser.stderr, loser.stderr
    assert "Traceback" not in loser.stderr
    code, text = stack.cli("apply", "--auto-approve")
    assert code == 0, text
    assert stack.cli("plan", "--detailed-exitcode")[0] == 0
