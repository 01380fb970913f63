"""A pure stand-in for the network in plan golden tests: apply a plan to an observed state.

Item hashes and VM addresses are derived from what they name, so generated states are stable.
Used by ``make_cases.py`` to build ``state.json`` files, and by tests that check that applying a
plan and planning again gives no changes.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

from fishnet_stack.aleph.security import rewrite_authorizations
from fishnet_stack.deploy.plantypes import Plan
from fishnet_stack.deploy.state import ObservedProgram, ObservedState, ObservedStore
from fishnet_stack.manifest import ExecutorEntry, Manifest, Release

CHANNEL = "FISHNET_GOLDEN"


def fake_hash(*parts: object) -> str:
    return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()


def fake_address(item_hash: str) -> str:
    return "0x" + fake_hash("vm", item_hash)[:40]


def simulate(plan: Plan, state: ObservedState, *, created: float = 0.0) -> ObservedState:
    """The state after ``plan`` was applied successfully (apply, rollback, gc or destroy)."""
    if plan.operation == "destroy":
        manifest = state.manifest
        return ObservedState(owner=state.owner, manifest=None if manifest is None else
                             Manifest(manifest.serial, None, {}),
                             authorizations=tuple(rewrite_authorizations(
                                 state.authorizations, plan.stack, CHANNEL, ())))
    programs, stores = list(state.programs), list(state.stores)
    manifest = state.manifest or Manifest(0, None, {})
    if plan.operation == "gc":
        gone = set(plan.forget)
        releases = {n: r for n, r in manifest.releases.items() if n not in plan.drop_releases}
        return replace(state, programs=tuple(p for p in programs if p.item_hash not in gone),
                       stores=tuple(s for s in stores if s.item_hash not in gone),
                       manifest=Manifest(manifest.serial, manifest.active, releases))
    if plan.operation == "rollback":
        assert plan.release is not None
        release = manifest.releases[plan.release]
        return replace(state, manifest=manifest.activate(plan.release),
                       authorizations=tuple(rewrite_authorizations(
                           state.authorizations, plan.stack, CHANNEL, release.authorized)))
    if plan.release is None:
        if plan.authorize is None:
            return state
        return replace(state, authorizations=tuple(rewrite_authorizations(
            state.authorizations, plan.stack, CHANNEL, plan.authorize or ())))
    refs = {}
    for store in plan.stores:
        item_hash = store.item_hash or fake_hash("store", store.kind, store.role, store.key)
        refs[store.kind, store.role] = item_hash
        if store.item_hash is None:
            stores.append(ObservedStore(item_hash, store.kind, store.role, store.version,
                                        store.key, store.file_hash))
    hashes = []
    for planned in plan.programs:
        want = planned.program
        if planned.item_hash is not None:
            hashes.append(planned.item_hash)
            continue
        item_hash = fake_hash("program", want.spec_hash, plan.release)
        programs.append(ObservedProgram(
            item_hash=item_hash, slot=want.slot, role=want.role, version=want.version,
            spec_hash=want.spec_hash, tree_hash=want.tree_hash, release=plan.release,
            code_ref=refs["code", want.role], variables=dict(want.variables),
            resources=dict(want.resources)))
        hashes.append(item_hash)
    identities = {h: fake_address(h) for h in hashes}
    pairs = list(zip(plan.programs, hashes, strict=True))
    release = Release(
        versions=plan.versions, created=created,
        api=tuple(h for p, h in pairs if p.program.role == "api"),
        executors=tuple(ExecutorEntry(h, (p.program.timeslice or {}).get("start"),
                                      (p.program.timeslice or {}).get("end"))
                        for p, h in pairs if p.program.role == "executor"),
        authorized=tuple(sorted(identities.values())), identities=identities)
    return ObservedState(
        owner=state.owner, programs=tuple(programs), stores=tuple(stores),
        manifest=manifest.activate(plan.release, release),
        authorizations=tuple(rewrite_authorizations(state.authorizations, plan.stack, CHANNEL,
                                                    release.authorized)))
