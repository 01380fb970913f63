"""The plan's data model: actions, changes, planned stores and programs, and :class:`Plan`.

A :class:`Plan` is plain data with a JSON form: ``plan -out FILE`` saves it with the state it was
made from (``base``) and that state's fingerprint, so ``apply FILE`` can refuse it when the
network changed since (see :func:`stale_reasons`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from fishnet_stack.deploy.desired import DesiredProgram
from fishnet_stack.deploy.state import ObservedState

__all__ = ["Action", "Change", "Plan", "PlannedProgram", "PlannedStore", "stale_reasons"]

PLAN_FORMAT = 1


class Action(StrEnum):
    """What happens to one thing; the value is the symbol the CLI prints."""

    CREATE = "+"
    REPLACE = "-/+"
    REMOVE = "-"
    UPDATE = "~"


@dataclass(frozen=True)
class Change:
    """One line of the plan: ``action`` on ``address`` (a slot, a store, the manifest), why."""

    action: Action
    kind: str
    address: str
    reason: str
    old: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"action": self.action.value, "kind": self.kind, "address": self.address,
                "reason": self.reason, "old": self.old}


@dataclass(frozen=True)
class PlannedStore:
    """A STORE the new programs need: ``item_hash`` when it exists, None to upload it."""

    kind: str
    role: str
    version: str
    key: str
    file_hash: str
    item_hash: str | None


@dataclass(frozen=True)
class PlannedProgram:
    """A program of the new release: ``item_hash`` when reused, None to create it
    (``replaces``: the active program of that slot, if any)."""

    program: DesiredProgram
    item_hash: str | None
    replaces: str | None


@dataclass(frozen=True)
class Plan:
    """Everything ``apply`` will do, in DESIGN 4.3's order. ``release`` is the release apply
    creates or (rollback) activates; None leaves the manifest's active release alone."""

    operation: str
    stack: str
    owner: str
    base_fingerprint: str
    base: ObservedState
    changes: tuple[Change, ...] = ()
    stores: tuple[PlannedStore, ...] = ()
    programs: tuple[PlannedProgram, ...] = ()
    release: int | None = None
    versions: dict[str, str] = field(default_factory=dict)
    authorize: tuple[str, ...] | None = None
    forget: tuple[str, ...] = ()
    drop_releases: tuple[int, ...] = ()

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    def summary(self) -> dict[str, int]:
        counts = {"create": 0, "replace": 0, "remove": 0, "update": 0}
        names = {Action.CREATE: "create", Action.REPLACE: "replace", Action.REMOVE: "remove",
                 Action.UPDATE: "update"}
        for change in self.changes:
            counts[names[change.action]] += 1
        return counts

    def to_json(self) -> dict[str, Any]:
        return {
            "format": PLAN_FORMAT, "operation": self.operation, "stack": self.stack,
            "owner": self.owner, "base_fingerprint": self.base_fingerprint,
            "summary": self.summary(),
            "changes": [c.to_json() for c in self.changes],
            "stores": [vars(s) for s in self.stores],
            "programs": [{"program": p.program.to_json(), "item_hash": p.item_hash,
                          "replaces": p.replaces} for p in self.programs],
            "release": self.release, "versions": self.versions,
            "authorize": None if self.authorize is None else list(self.authorize),
            "forget": list(self.forget), "drop_releases": list(self.drop_releases),
            "base": self.base.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        """Parse :meth:`to_json` output; raises KeyError/TypeError/ValueError otherwise."""
        if data.get("format") != PLAN_FORMAT:
            raise ValueError(f"unknown plan format {data.get('format')!r}")
        authorize = data.get("authorize")
        return cls(
            operation=str(data["operation"]), stack=str(data["stack"]),
            owner=str(data["owner"]), base_fingerprint=str(data["base_fingerprint"]),
            base=ObservedState.from_json(data["base"]),
            changes=tuple(Change(Action(c["action"]), c["kind"], c["address"], c["reason"],
                                 c.get("old")) for c in data["changes"]),
            stores=tuple(PlannedStore(**s) for s in data["stores"]),
            programs=tuple(PlannedProgram(DesiredProgram.from_json(p["program"]),
                                          p["item_hash"], p["replaces"])
                           for p in data["programs"]),
            release=data["release"], versions=dict(data["versions"]),
            authorize=None if authorize is None else tuple(authorize),
            forget=tuple(data["forget"]), drop_releases=tuple(data["drop_releases"]),
        )


def stale_reasons(saved: ObservedState, now: ObservedState) -> list[str]:
    """What changed on the network between ``saved`` and ``now`` (empty: nothing)."""
    reasons = []
    before = {p.item_hash for p in saved.programs}
    after = {p.item_hash for p in now.programs}
    if after - before:
        reasons.append(f"{len(after - before)} program(s) appeared: "
                       + ", ".join(sorted(h[:10] for h in after - before)))
    if before - after:
        reasons.append(f"{len(before - after)} program(s) disappeared: "
                       + ", ".join(sorted(h[:10] for h in before - after)))
    if {s.item_hash for s in saved.stores} != {s.item_hash for s in now.stores}:
        reasons.append("the stack's STOREs changed")
    old = saved.manifest.to_json() if saved.manifest else None
    new = now.manifest.to_json() if now.manifest else None
    if old != new:
        reasons.append(f"the manifest changed (serial {old and old['serial']} -> "
                       f"{new and new['serial']}, active {old and old['active']} -> "
                       f"{new and new['active']})")
    if list(saved.authorizations) != list(now.authorizations):
        reasons.append("the owner's security authorizations changed")
    return reasons or (["the state changed"] if saved.fingerprint != now.fingerprint else [])
