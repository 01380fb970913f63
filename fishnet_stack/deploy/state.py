"""What is deployed, read from the network only (DESIGN 4.2): no local state file.

:func:`read_state` reads the owner's PROGRAM and STORE messages in the stack's channel (queried
by address, type and channel; ``metadata`` filtered here, since nodes differ in how they index
tags), the manifest aggregate and the ``security`` aggregate. Forgotten messages are not
listed by nodes, so a program forgotten out of band simply is not in ``programs`` (drift).

:class:`ObservedState` is plain data with a JSON form (golden tests keep it in ``state.json``)
and a :attr:`~ObservedState.fingerprint` that changes whenever anything read changes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from fishnet_stack.aleph.client import AlephClient
from fishnet_stack.aleph.security import SECURITY_KEY
from fishnet_stack.deploy.desired import PACKAGES_MOUNT
from fishnet_stack.errors import PlanError
from fishnet_stack.manifest import Manifest, ManifestError, manifest_key

__all__ = ["ObservedProgram", "ObservedState", "ObservedStore", "read_state"]


@dataclass(frozen=True)
class ObservedProgram:
    """A live PROGRAM of the stack, from its ``metadata``."""

    item_hash: str
    slot: str
    role: str
    version: str
    spec_hash: str
    tree_hash: str
    release: int
    code_ref: str
    packages_ref: str | None = None
    variables: dict[str, str] = field(default_factory=dict)
    resources: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ObservedStore:
    """A live STORE of the stack: ``kind`` ``code`` (``key`` = tree hash) or ``packages``
    (``key`` = lock hash)."""

    item_hash: str
    kind: str
    role: str
    version: str
    key: str
    file_hash: str


@dataclass(frozen=True)
class ObservedState:
    """Everything plan needs to know about the network, for one stack and owner."""

    owner: str
    programs: tuple[ObservedProgram, ...] = ()
    stores: tuple[ObservedStore, ...] = ()
    manifest: Manifest | None = None
    authorizations: tuple[dict[str, Any], ...] = field(default=())
    manifest_hash: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "owner": self.owner,
            "programs": [asdict(p) for p in self.programs],
            "stores": [asdict(s) for s in self.stores],
            "manifest": None if self.manifest is None else self.manifest.to_json(),
            "authorizations": [dict(a) for a in self.authorizations],
            "manifest_hash": self.manifest_hash,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ObservedState:
        """Parse :meth:`to_json` output; raises KeyError/TypeError/ValueError otherwise."""
        manifest = data.get("manifest")
        return cls(
            owner=str(data["owner"]),
            programs=tuple(ObservedProgram(**p) for p in data.get("programs", [])),
            stores=tuple(ObservedStore(**s) for s in data.get("stores", [])),
            manifest=None if manifest is None else Manifest.from_json(manifest),
            authorizations=tuple(dict(a) for a in data.get("authorizations", [])),
            manifest_hash=data.get("manifest_hash"),
        )

    @property
    def fingerprint(self) -> str:
        """sha256 of the canonical JSON of everything read (message hashes, manifest, ...)."""
        text = json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def program(self, item_hash: str) -> ObservedProgram | None:
        return next((p for p in self.programs if p.item_hash == item_hash), None)


def _program(message: dict[str, Any], stack: str) -> ObservedProgram | None:
    content = message.get("content") or {}
    meta = content.get("metadata") or {}
    if meta.get("stack") != stack or "spec_hash" not in meta:
        return None
    try:
        return ObservedProgram(
            item_hash=str(message["item_hash"]), slot=str(meta["slot"]), role=str(meta["role"]),
            version=str(meta["version"]), spec_hash=str(meta["spec_hash"]),
            tree_hash=str(meta.get("tree_hash", "")), release=int(meta.get("release", 0)),
            code_ref=str((content.get("code") or {}).get("ref", "")),
            packages_ref=next((str(v["ref"]) for v in content.get("volumes") or ()
                               if isinstance(v, dict) and v.get("mount") == PACKAGES_MOUNT
                               and "ref" in v), None),
            variables={str(k): str(v) for k, v in (content.get("variables") or {}).items()
                       if k != "FISHNET_RELEASE"},
            resources={k: int(v) for k, v in (content.get("resources") or {}).items()
                       if k in ("vcpus", "memory", "seconds")},
        )
    except (KeyError, TypeError, ValueError):
        return None  # not one of ours after all: ignore rather than fail the plan


def _store(message: dict[str, Any], stack: str) -> ObservedStore | None:
    content = message.get("content") or {}
    meta = content.get("metadata") or {}
    if meta.get("stack") != stack or meta.get("kind") not in ("code", "packages"):
        return None
    return ObservedStore(
        item_hash=str(message["item_hash"]), kind=str(meta["kind"]),
        role=str(meta.get("role", "")), version=str(meta.get("version", "")),
        key=str(meta.get("tree_hash") or meta.get("lock_hash") or ""),
        file_hash=str(content.get("item_hash", "")),
    )


async def read_state(client: AlephClient, stack: str, channel: str, owner: str) -> ObservedState:
    """Read the live state of ``stack`` for ``owner`` (four reads, two of them paged).

    Raises NodeUnavailable when the node cannot be read (after retries); a manifest that does
    not parse raises :class:`~fishnet_stack.errors.PlanError`.
    """
    programs: list[ObservedProgram] = []
    stores: list[ObservedStore] = []
    async for message in client.messages(addresses=owner, msgTypes="PROGRAM,STORE",
                                         channels=channel):
        if message.get("type") == "PROGRAM":
            found = _program(message, stack)
            if found is not None:
                programs.append(found)
        else:
            store = _store(message, stack)
            if store is not None:
                stores.append(store)
    raw_manifest = await client.aggregate(owner, manifest_key(stack))
    try:
        manifest = Manifest.parse(raw_manifest) if raw_manifest else None
    except ManifestError as exc:
        raise PlanError(f"the manifest {manifest_key(stack)} of {owner} is unreadable ({exc}); "
                        "it was not written by fishnet-stack") from exc
    manifest_hash = None
    async for message in client.messages(page_size=1, addresses=owner, msgTypes="AGGREGATE",
                                         contentKeys=manifest_key(stack), sortOrder="-1"):
        manifest_hash = str(message["item_hash"])  # newest first: one is enough
        break
    security = await client.aggregate(owner, SECURITY_KEY) or {}
    entries = security.get("authorizations")
    return ObservedState(
        owner=owner, programs=tuple(programs), stores=tuple(stores),
        manifest=manifest, manifest_hash=manifest_hash,
        authorizations=tuple(e for e in entries if isinstance(e, dict))
        if isinstance(entries, list) else (),
    )
