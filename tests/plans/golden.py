"""Run one plan golden case: ``<case>/{stack.yaml, state.json, expected.json}``.

``expected.json`` is the plan as JSON without its ``base`` (that is ``state.json``), or
``{"operation", "release", "error"}`` when planning must fail with that message. Its ``operation``
(``apply``, ``rollback``, ``destroy``, ``gc``) picks the planner; a rollback's target is its
``release``. Cases may carry an ``artifacts.json`` overriding ``tests/plans/artifacts.json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fishnet_stack.deploy.desired import ArtifactSummary
from fishnet_stack.deploy.lifecycle import plan_destroy, plan_gc, plan_rollback
from fishnet_stack.deploy.plan import plan_apply
from fishnet_stack.deploy.plantypes import Plan
from fishnet_stack.deploy.state import ObservedState
from fishnet_stack.errors import PlanError
from fishnet_stack.stackfile import Stack, parse_stack

HERE = Path(__file__).parent


def load_artifacts(path: Path) -> dict[str, ArtifactSummary]:
    return {role: ArtifactSummary(**data) for role, data in json.loads(path.read_text()).items()}


def case_artifacts(case: Path) -> dict[str, ArtifactSummary]:
    own = case / "artifacts.json"
    return load_artifacts(own if own.exists() else HERE / "artifacts.json")


def load_case_stack(case: Path) -> Stack:
    return parse_stack((case / "stack.yaml").read_text(), str(case / "stack.yaml"),
                       base_dir=case, environ={})


def run_planner(operation: str, stack: Stack, state: ObservedState,
                artifacts: dict[str, ArtifactSummary], release: int | None) -> Plan:
    if operation == "destroy":
        return plan_destroy(stack.stack, state)
    if operation == "gc":
        return plan_gc(stack.stack, state, stack.retain)
    if operation == "rollback":
        assert release is not None
        return plan_rollback(stack.stack, state, release)
    return plan_apply(stack, state.owner, artifacts, state)


def golden_view(plan: Plan) -> dict[str, Any]:
    view = plan.to_json()
    del view["base"]
    return view


def run_case(case: Path, operation: str, release: int | None) -> dict[str, Any]:
    """The case's actual outcome, in expected.json's shape."""
    stack = load_case_stack(case)
    state = ObservedState.from_json(json.loads((case / "state.json").read_text()))
    try:
        plan = run_planner(operation, stack, state, case_artifacts(case), release)
    except PlanError as exc:
        return {"operation": operation, "release": release, "error": str(exc)}
    return golden_view(plan)
