"""The plan: ``(stack, built artifacts, observed state) -> Plan``. Pure: no I/O, no clock.

DESIGN 4.3. Programs are immutable: a desired program whose ``spec_hash`` matches a live program
of the stack reuses it (preferring the active release's); otherwise it is created, replacing
(``-/+``) the active program of the same slot if there is one. Active programs whose slot is no
longer wanted leave the release (``-``; kept for rollback until ``gc``). A program listed in the
active release but no longer on the network is drift: ``+`` "missing from network". A version
label maps to one code tree: changed code under a deployed version is a :class:`PlanError`.
Rollback, destroy and gc plans live in :mod:`fishnet_stack.deploy.lifecycle`.
"""

from __future__ import annotations

from collections.abc import Mapping

from fishnet_stack.aleph.security import owned_addresses
from fishnet_stack.deploy.desired import (
    ROLES,
    ArtifactSummary,
    DesiredProgram,
    desired_programs,
    executor_slot,
)
from fishnet_stack.deploy.plantypes import (
    Action,
    Change,
    Plan,
    PlannedProgram,
    PlannedStore,
)
from fishnet_stack.deploy.state import ObservedProgram, ObservedState
from fishnet_stack.errors import PlanError
from fishnet_stack.manifest import Release
from fishnet_stack.stackfile import Stack

__all__ = ["plan_apply", "release_slots", "short"]


def short(item_hash: str) -> str:
    return item_hash[:10]


def release_slots(release: Release) -> dict[str, str]:
    """slot -> item_hash of a release's programs."""
    slots = {f"api[{i}]": h for i, h in enumerate(release.api)}
    slots.update({executor_slot(e.start, e.end): e.item_hash for e in release.executors})
    return slots


def _check_versions(artifacts: Mapping[str, ArtifactSummary], state: ObservedState) -> None:
    for role in ROLES:
        built = artifacts[role]
        deployed = {s.key for s in state.stores
                    if s.kind == "code" and s.role == role and s.version == built.version}
        deployed |= {p.tree_hash for p in state.programs
                     if p.role == role and p.version == built.version and p.tree_hash}
        others = sorted(deployed - {built.tree_hash})
        if others:
            raise PlanError(
                f"{role} version {built.version} is deployed with code tree {short(others[0])}, "
                f"but the code now has tree {short(built.tree_hash)}: the code changed under "
                f"the same version; bump versions.{role} in the stack file")


def _why_replaced(old: ObservedProgram, new: DesiredProgram) -> str:
    reasons = []
    if old.version != new.version:
        reasons.append(f"version {old.version} -> {new.version}")
    elif old.tree_hash != new.tree_hash:
        reasons.append("code changed")
    for key in sorted(set(old.variables) | set(new.variables)):
        if old.variables.get(key) != new.variables.get(key) and key != "FISHNET_VERSION":
            reasons.append(f"variables.{key} changed")
    for key in sorted(new.resources):
        if old.resources.get(key) != new.resources[key]:
            reasons.append(f"resources.{key} {old.resources.get(key)} -> {new.resources[key]}")
    return "; ".join(reasons) or "spec changed"


def _stores(stack: Stack, created: list[DesiredProgram], artifacts: Mapping[str, ArtifactSummary],
            state: ObservedState, changes: list[Change]) -> list[PlannedStore]:
    stores: list[PlannedStore] = []
    for role in ROLES:
        if not any(p.role == role for p in created):
            continue
        built = artifacts[role]
        code = next((s.item_hash for s in state.stores if s.kind == "code" and s.role == role
                     and s.key == built.tree_hash and s.file_hash == built.file_hash), None)
        stores.append(PlannedStore("code", role, built.version, built.tree_hash,
                                   built.file_hash, code))
        if code is None:
            changes.append(Change(Action.CREATE, "store", f"code.{role}",
                                  f"{role} {built.version}, tree {short(built.tree_hash)}"))
        lock = built.packages_lock
        if lock and not any(s.kind == "packages" and s.key == lock for s in stores):
            packages = next((s.item_hash for s in state.stores
                             if s.kind == "packages" and s.key == lock), None)
            stores.append(PlannedStore("packages", role, "", lock,
                                       built.packages_file_hash or "", packages))
            if packages is None:
                changes.append(Change(Action.CREATE, "store", f"packages.{short(lock)}",
                                      f"packages volume for {role}"))
    return stores


def plan_apply(stack: Stack, owner: str, artifacts: Mapping[str, ArtifactSummary],
               state: ObservedState) -> Plan:
    """What ``apply`` must do to make the network match ``stack``.

    Raises :class:`PlanError` when code changed under a deployed version.
    """
    _check_versions(artifacts, state)
    manifest = state.manifest
    active = manifest.active_release if manifest else None
    active_slots = release_slots(active) if active else {}
    active_hashes = set(active_slots.values())
    live = {p.item_hash: p for p in state.programs}
    changes: list[Change] = []
    planned: list[PlannedProgram] = []
    created: list[DesiredProgram] = []
    by_spec: dict[str, list[ObservedProgram]] = {}
    for program in state.programs:
        by_spec.setdefault(program.spec_hash, []).append(program)
    for want in desired_programs(stack, owner, dict(artifacts)):
        matches = list(by_spec.get(want.spec_hash, ()))
        matches.sort(key=lambda p: (p.item_hash not in active_hashes, p.release))
        old = active_slots.get(want.slot)
        if matches:
            pick = matches[0]
            planned.append(PlannedProgram(want, pick.item_hash, None))
            if pick.item_hash not in active_hashes:
                changes.append(Change(Action.UPDATE, "program", want.slot,
                                      f"reuse {short(pick.item_hash)} (release {pick.release})"))
            continue
        created.append(want)
        if old is None:
            planned.append(PlannedProgram(want, None, None))
            changes.append(Change(Action.CREATE, "program", want.slot,
                                  f"{want.role} {want.version}"))
        elif old not in live:
            planned.append(PlannedProgram(want, None, old))
            changes.append(Change(Action.CREATE, "program", want.slot,
                                  f"missing from network (was {short(old)})"))
        else:
            planned.append(PlannedProgram(want, None, old))
            changes.append(Change(Action.REPLACE, "program", want.slot,
                                  _why_replaced(live[old], want), old=old))
    wanted_slots = {p.program.slot for p in planned}
    for slot, item_hash in sorted(active_slots.items()):
        if slot not in wanted_slots:
            changes.append(Change(Action.REMOVE, "program", slot,
                                  "leaves the release (kept for rollback until gc)",
                                  old=item_hash))
    stores = _stores(stack, created, artifacts, state, changes)
    versions = {"api": stack.versions.api, "executor": stack.versions.executor}
    api_hashes = [p.item_hash for p in planned if p.program.role == "api"]
    executor_hashes = [p.item_hash for p in planned if p.program.role == "executor"]
    same = (active is not None and not created and list(active.api) == api_hashes
            and [e.item_hash for e in active.executors] == executor_hashes
            and dict(active.versions) == versions)
    release = None if same else (manifest.serial + 1 if manifest else 1)
    owned = owned_addresses(state.authorizations, stack.stack)
    authorize: tuple[str, ...] | None = None
    if release is not None:
        was = f" (active was {manifest.active})" if manifest and manifest.active else ""
        changes.append(Change(Action.UPDATE if manifest else Action.CREATE, "manifest",
                              "manifest", f"release {release}{was}"))
        known = {h: a for r in (manifest.releases.values() if manifest else ())
                 for h, a in r.identities.items()}
        kept = {known[p.item_hash] for p in planned if p.item_hash in known}
        fresh = sum(1 for p in planned if p.item_hash is None or p.item_hash not in known)
        revoked = len(owned - kept)
        changes.append(Change(Action.UPDATE, "authorizations", "authorizations",
                              f"authorise the {len(planned)} VM(s) of release {release} "
                              f"({fresh} new)"
                              + (f"; revoke {revoked}" if revoked else "")))
    elif active is not None and owned != set(active.authorized):
        authorize = tuple(sorted(active.authorized))
        changes.append(Change(Action.UPDATE, "authorizations", "authorizations",
                              f"restore {len(set(active.authorized) - owned)}, revoke "
                              f"{len(owned - set(active.authorized))} (drift)"))
    return Plan(operation="apply", stack=stack.stack, owner=owner,
                base_fingerprint=state.fingerprint, base=state, changes=tuple(changes),
                stores=tuple(stores), programs=tuple(planned), release=release,
                versions=versions, authorize=authorize)
