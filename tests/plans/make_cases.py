"""Regenerate the plan golden cases: ``python -m tests.plans.make_cases``.

Each case's ``state.json`` is built by simulating earlier applies (``simulate.py``) of the
stacks written here; ``expected.json`` is what the planner answers today. Review the diff of
every regenerated ``expected.json`` before committing it: the tests compare against it.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from typing import Any

from fishnet_stack.deploy.desired import ArtifactSummary
from fishnet_stack.deploy.plan import plan_apply
from fishnet_stack.deploy.state import ObservedState
from fishnet_stack.stackfile import parse_stack
from tests.plans.golden import HERE, golden_view, load_artifacts, run_case, run_planner
from tests.plans.simulate import CHANNEL, simulate

OWNER = "0x00000000000000000000000000000000000000AA"
FOREIGN = {"address": "0x00000000000000000000000000000000000000BB", "chain": "ETH",
           "channels": ["OTHER"], "types": ["POST"]}


def stack_text(*, api: str = "0.1.0", executor: str = "0.1.0", instances: int = 1,
               slices: tuple[str, ...] = ("{end: 2020-01-01}", "{start: 2020-01-01}"),
               log_level: str = "info", retain: int = 3) -> str:
    return "\n".join([
        "stack: golden", "network: devnet", f"channel: {CHANNEL}",
        "owner: {key_file: owner.key}", f"versions: {{api: {api}, executor: {executor}}}",
        "api:", f"  instances: {instances}", "  resources: {vcpus: 1, memory: 2048, seconds: 30}",
        "executors:", "  resources: {vcpus: 1, memory: 2048, seconds: 300}", "  timeslices:",
        *(f"    - {s}" for s in slices), f"variables: {{LOG_LEVEL: {log_level}}}",
        f"retain: {retain}", ""])


BASE = load_artifacts(HERE / "artifacts.json")
BUMPED = {**BASE, "api": replace(BASE["api"], version="0.2.0", tree_hash="a2" * 32,
                                 file_hash="f2" * 32)}
CHANGED = {**BASE, "api": replace(BASE["api"], tree_hash="a2" * 32, file_hash="f2" * 32)}
EMPTY = ObservedState(owner=OWNER, authorizations=(FOREIGN,))


def deploy(state: ObservedState, text: str, artifacts: dict[str, ArtifactSummary] = BASE,
           ) -> ObservedState:
    stack = parse_stack(text, environ={})
    return simulate(plan_apply(stack, OWNER, artifacts, state), state)


def forget_one(state: ObservedState, release: int) -> ObservedState:
    """``state`` where the last program created by ``release`` was forgotten out of band."""
    doomed = [p for p in state.programs if p.release == release][-1]
    return replace(state, programs=tuple(p for p in state.programs if p is not doomed))


def rolled_back(state: ObservedState, serial: int) -> ObservedState:
    stack = parse_stack(stack_text(), environ={})
    return simulate(run_planner("rollback", stack, state, BASE, serial), state)


V1 = deploy(EMPTY, stack_text())
V2 = deploy(V1, stack_text(log_level="debug"))
V3 = deploy(V2, stack_text(log_level="warning"))

# name: (stack.yaml, state before, operation, rollback target, artifacts override)
CASES: dict[str, tuple[str, ObservedState, str, int | None, dict[str, Any] | None]] = {
    "empty_network": (stack_text(), EMPTY, "apply", None, None),
    "no_change": (stack_text(), V1, "apply", None, None),
    "version_bump": (stack_text(api="0.2.0"), V1, "apply", None, BUMPED),
    "code_changed_same_version": (stack_text(), V1, "apply", None, CHANGED),
    "timeslice_split": (stack_text(slices=("{end: 2020-01-01}", "{start: 2020-01-01, end: "
                                           "2024-01-01}", "{start: 2024-01-01}")),
                        V1, "apply", None, None),
    "stack_variable_changed": (stack_text(log_level="debug"), V1, "apply", None, None),
    "instance_added": (stack_text(instances=2), V1, "apply", None, None),
    "instance_removed": (stack_text(instances=1), deploy(V1, stack_text(instances=2)), "apply",
                         None, None),
    "program_forgotten_out_of_band": (stack_text(), forget_one(V1, 1), "apply", None, None),
    "after_rollback": (stack_text(log_level="debug"), rolled_back(V2, 1), "apply", None, None),
    "rollback": (stack_text(log_level="debug"), V2, "rollback", 1, None),
    "rollback_to_forgotten_release": (stack_text(), forget_one(V2, 1), "rollback", 1, None),
    "gc_beyond_retain": (stack_text(log_level="warning", retain=1), V3, "gc", None, None),
    "destroy": (stack_text(), V2, "destroy", None, None),
}


def main() -> None:
    for name, (text, state, operation, release, artifacts) in CASES.items():
        case = HERE / name
        shutil.rmtree(case, ignore_errors=True)
        case.mkdir()
        (case / "stack.yaml").write_text(text)
        (case / "state.json").write_text(json.dumps(state.to_json(), indent=1) + "\n")
        if artifacts is not None:
            (case / "artifacts.json").write_text(json.dumps(
                {r: vars(a) for r, a in artifacts.items()}, indent=1) + "\n")
        (case / "expected.json").write_text(json.dumps({"operation": operation,
                                                        "release": release}) + "\n")
        outcome = run_case(case, operation, release)
        (case / "expected.json").write_text(json.dumps(outcome, indent=1) + "\n")
        print(name, outcome.get("summary") or outcome.get("error"))


if __name__ == "__main__":
    main()

__all__ = ["CASES", "golden_view", "main"]
