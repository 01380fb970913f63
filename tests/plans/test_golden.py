"""Plan golden tests: (stack.yaml + state.json) -> expected.json, one directory per case.

Regenerate with ``python -m tests.plans.make_cases`` and review the diff.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fishnet_stack.deploy.plan import plan_apply
from fishnet_stack.deploy.plantypes import Plan
from fishnet_stack.deploy.state import ObservedState
from tests.plans.golden import (
    HERE,
    case_artifacts,
    golden_view,
    load_case_stack,
    run_case,
    run_planner,
)
from tests.plans.simulate import simulate

CASES = sorted(p for p in HERE.iterdir() if (p / "expected.json").exists())
REQUIRED = {"empty_network", "no_change", "version_bump", "code_changed_same_version",
            "timeslice_split", "stack_variable_changed", "instance_added", "instance_removed",
            "program_forgotten_out_of_band", "after_rollback", "destroy"}


def expected(case: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((case / "expected.json").read_text())
    return data


def test_required_cases_exist() -> None:
    assert REQUIRED <= {c.name for c in CASES}


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_golden_case(case: Path) -> None:
    want = expected(case)
    release = want.get("release") if want.get("operation") == "rollback" else None
    got = run_case(case, str(want["operation"]), release if isinstance(release, int) else None)
    assert got == want


@pytest.mark.parametrize("case", [c for c in CASES if "error" not in expected(c)],
                         ids=lambda p: p.name)
def test_applying_the_plan_leaves_nothing_to_do(case: Path) -> None:
    """Simulate the plan, plan the stack again: no changes (apply converges in one step)."""
    want = expected(case)
    stack = load_case_stack(case)
    state = ObservedState.from_json(json.loads((case / "state.json").read_text()))
    release = want.get("release") if want.get("operation") == "rollback" else None
    plan = run_planner(str(want["operation"]), stack, state, case_artifacts(case),
                       release if isinstance(release, int) else None)
    after = simulate(plan, state)
    again = run_planner(str(want["operation"]), stack, after, case_artifacts(case),
                        release if isinstance(release, int) else None)
    if want["operation"] == "destroy":
        assert again.changes == ()
        recreate = plan_apply(stack, state.owner, case_artifacts(case), after)
        created = [c.address for c in recreate.changes if c.action.value == "+"]
        assert created[:len(recreate.programs)] == [p.program.slot for p in recreate.programs]
        assert all(p.item_hash is None for p in recreate.programs)
        return
    assert again.changes == (), [c.to_json() for c in again.changes]


@pytest.mark.parametrize("name", ["empty_network", "version_bump", "timeslice_split"])
def test_plan_json_round_trips(name: str) -> None:
    case = HERE / name
    stack = load_case_stack(case)
    state = ObservedState.from_json(json.loads((case / "state.json").read_text()))
    plan = plan_apply(stack, state.owner, case_artifacts(case), state)
    again = Plan.from_json(json.loads(json.dumps(plan.to_json())))
    assert golden_view(again) == golden_view(plan)
    assert again.base.fingerprint == plan.base_fingerprint
