"""The content of the messages apply signs for a plan: STORE metadata and PROGRAM content.

PROGRAM ``metadata`` carries what :mod:`fishnet_stack.deploy.state` reads back:
``tags: ["fishnet-stack", "stack:<stack>", "role:<role>"]``, ``stack``, ``role``, ``version``,
``release`` (the release that created it), ``timeslice`` (ISO 8601 interval, ``..`` open),
``slot``, ``spec_hash``, ``tree_hash``.
"""

from __future__ import annotations

from typing import Any

from fishnet_stack.aleph.programs import program_content
from fishnet_stack.build import ENTRYPOINT
from fishnet_stack.deploy.desired import PACKAGES_MOUNT, DesiredProgram, identity_volume
from fishnet_stack.deploy.plantypes import PlannedStore

__all__ = ["program_message_content", "store_metadata"]


def _tags(stack: str, role: str) -> list[str]:
    return ["fishnet-stack", f"stack:{stack}", f"role:{role}"]


def store_metadata(stack: str, store: PlannedStore) -> dict[str, Any]:
    """STORE ``metadata``: what it is (``kind``), for which stack, role, version and tree."""
    key = "tree_hash" if store.kind == "code" else "lock_hash"
    return {"tags": _tags(stack, store.role), "stack": stack, "kind": store.kind,
            "role": store.role, "version": store.version, key: store.key}


def _interval(want: DesiredProgram) -> str | None:
    """ISO 8601 interval of an executor's slice (``..`` = open end); None for the API."""
    if want.timeslice is None:
        return None
    return f"{want.timeslice['start'] or '..'}/{want.timeslice['end'] or '..'}"


def program_message_content(stack: str, owner: str, want: DesiredProgram, release: int, *,
                            code_ref: str, packages_ref: str | None) -> dict[str, Any]:
    """PROGRAM content of ``want`` in ``release``, pinned to ``code_ref`` (and packages)."""
    volumes: list[dict[str, Any]] = [identity_volume()]
    if packages_ref is not None:
        volumes.append({"ref": packages_ref, "mount": PACKAGES_MOUNT, "use_latest": False})
    return program_content(
        owner=owner, code_ref=code_ref, encoding=want.encoding, entrypoint=ENTRYPOINT,
        vcpus=want.resources["vcpus"], memory=want.resources["memory"],
        seconds=want.resources["seconds"],
        variables={**want.variables, "FISHNET_RELEASE": str(release)},
        volumes=volumes, subscriptions=want.subscriptions or None,
        metadata={"tags": _tags(stack, want.role), "stack": stack, "role": want.role,
                  "version": want.version, "release": release, "timeslice": _interval(want),
                  "slot": want.slot, "spec_hash": want.spec_hash, "tree_hash": want.tree_hash},
    )
