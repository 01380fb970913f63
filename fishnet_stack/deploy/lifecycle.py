"""Plans that change releases without building anything: rollback, destroy, gc. Pure.

- :func:`plan_rollback`: activate an earlier release; no new PROGRAM. Refused when that release
  does not exist or one of its programs is gone (forgotten by ``gc`` or out of band).
- :func:`plan_destroy`: FORGET every live program of the stack, then its STOREs, then empty the
  manifest (``active: null``, no releases; ``serial`` is kept so numbering continues) and remove
  this stack's authorisations.
- :func:`plan_gc`: forget the releases beyond the newest ``retain`` (the active one is always
  kept), their programs that no kept release uses, and STOREs no remaining program uses.
"""

from __future__ import annotations

from fishnet_stack.aleph.security import owned_addresses
from fishnet_stack.deploy.plan import short
from fishnet_stack.deploy.plantypes import Action, Change, Plan
from fishnet_stack.deploy.state import ObservedState
from fishnet_stack.errors import PlanError

__all__ = ["plan_destroy", "plan_gc", "plan_rollback"]


def _empty(operation: str, stack: str, state: ObservedState) -> Plan:
    return Plan(operation=operation, stack=stack, owner=state.owner,
                base_fingerprint=state.fingerprint, base=state)


def plan_rollback(stack: str, state: ObservedState, serial: int) -> Plan:
    """Point the manifest back at release ``serial``. Raises :class:`PlanError` when it cannot
    be restored as it was."""
    manifest = state.manifest
    if manifest is None or serial not in manifest.releases:
        known = sorted(manifest.releases) if manifest else []
        raise PlanError(f"release {serial} of {stack} does not exist; releases: "
                        f"{', '.join(map(str, known)) or 'none'}")
    release = manifest.releases[serial]
    live = {p.item_hash for p in state.programs}
    gone = [h for h in release.programs if h not in live]
    if gone:
        raise PlanError(f"release {serial} cannot be restored: its program(s) "
                        f"{', '.join(short(h) for h in gone)} were forgotten (gc or out of band); "
                        "apply a stack file instead")
    if manifest.active == serial:
        owned = owned_addresses(state.authorizations, stack)
        if owned == set(release.authorized):
            return _empty("rollback", stack, state)
    changes = [Change(Action.UPDATE, "manifest", "manifest",
                      f"active release {manifest.active} -> {serial}"),
               Change(Action.UPDATE, "authorizations", "authorizations",
                      f"authorise the {len(release.authorized)} VM(s) of release {serial}; "
                      "revoke the others of this stack")]
    return Plan(operation="rollback", stack=stack, owner=state.owner,
                base_fingerprint=state.fingerprint, base=state, changes=tuple(changes),
                release=serial, versions=dict(release.versions),
                authorize=tuple(sorted(release.authorized)))


def plan_destroy(stack: str, state: ObservedState) -> Plan:
    """Forget everything the stack has on the network."""
    changes = [Change(Action.REMOVE, "program", f"{p.slot}", f"forget {short(p.item_hash)}",
                      old=p.item_hash) for p in state.programs]
    changes += [Change(Action.REMOVE, "store", f"{s.kind}.{s.role or short(s.key)}",
                       f"forget {short(s.item_hash)}", old=s.item_hash) for s in state.stores]
    manifest = state.manifest
    if manifest is not None and (manifest.releases or manifest.active is not None):
        changes.append(Change(Action.REMOVE, "manifest", "manifest",
                              f"drop {len(manifest.releases)} release(s)"))
    owned = owned_addresses(state.authorizations, stack)
    if owned:
        changes.append(Change(Action.UPDATE, "authorizations", "authorizations",
                              f"revoke {len(owned)} VM(s) of this stack"))
    forget = tuple(p.item_hash for p in state.programs) + tuple(s.item_hash
                                                                 for s in state.stores)
    return Plan(operation="destroy", stack=stack, owner=state.owner,
                base_fingerprint=state.fingerprint, base=state, changes=tuple(changes),
                authorize=(), forget=forget,
                drop_releases=tuple(sorted(manifest.releases)) if manifest else ())


def plan_gc(stack: str, state: ObservedState, retain: int) -> Plan:
    """Forget releases beyond the newest ``retain`` and what only they used."""
    manifest = state.manifest
    if manifest is None:
        return _empty("gc", stack, state)
    numbers = sorted(manifest.releases, reverse=True)
    keep = set(numbers[:retain]) | ({manifest.active} if manifest.active is not None else set())
    drop = sorted(n for n in numbers if n not in keep)
    if not drop:
        return _empty("gc", stack, state)
    kept_programs = {h for n in keep for h in manifest.releases[n].programs}
    dropped_programs = {h for n in drop for h in manifest.releases[n].programs} - kept_programs
    doomed = [p for p in state.programs if p.item_hash in dropped_programs]
    remaining = [p for p in state.programs if p.item_hash not in dropped_programs]
    used = {p.code_ref for p in remaining} | {p.packages_ref for p in remaining if p.packages_ref}
    stale_stores = [s for s in state.stores if s.item_hash not in used
                    and any(p.code_ref == s.item_hash or p.packages_ref == s.item_hash
                            for p in doomed)]
    changes = [Change(Action.UPDATE, "manifest", "manifest",
                      f"forget release(s) {', '.join(map(str, drop))} (retain {retain})")]
    changes += [Change(Action.REMOVE, "program", p.slot, f"forget {short(p.item_hash)} "
                       f"(release {p.release})", old=p.item_hash) for p in doomed]
    changes += [Change(Action.REMOVE, "store", f"{s.kind}.{s.role}",
                       f"forget {short(s.item_hash)}", old=s.item_hash) for s in stale_stores]
    active = manifest.active_release
    authorize = tuple(sorted(active.authorized)) if active else ()
    if owned_addresses(state.authorizations, stack) != set(authorize):
        changes.append(Change(Action.UPDATE, "authorizations", "authorizations",
                              "keep only the active release's VMs"))
    return Plan(operation="gc", stack=stack, owner=state.owner,
                base_fingerprint=state.fingerprint, base=state, changes=tuple(changes),
                authorize=authorize, drop_releases=tuple(drop),
                forget=tuple(p.item_hash for p in doomed) + tuple(s.item_hash
                                                                   for s in stale_stores))
