"""The manifest (DESIGN 4.4): which programs form each release of a stack, and which is active.

An AGGREGATE of the owner under key ``fishnet-stack:<stack>``; aggregates merge by top-level
key, so every update rewrites the whole value::

    {"serial": n, "active": n | null,
     "releases": {"<n>": {"versions": {"api": v, "executor": v}, "created": t,
                          "api": [item_hash, ...],
                          "executors": [{"item_hash", "start", "end"}, ...],
                          "authorized": [address, ...], "identities": {item_hash: address},
                          "deprecated": bool}}}

``identities`` (an addition to DESIGN 4.4) maps each program to its VM address, so that a
rollback can re-authorise without asking VMs again. ``active`` is null after ``destroy``.
URLs are never stored: :func:`vm_url` derives them. Standard library only (apps read it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

__all__ = ["ALEPH_VM_GATEWAY", "ExecutorEntry", "Manifest", "ManifestError", "Release",
           "manifest_key", "vm_url"]

ALEPH_VM_GATEWAY = "https://aleph.sh/vm"


class ManifestError(ValueError):
    """A manifest aggregate does not have the documented shape."""


def manifest_key(stack: str) -> str:
    return f"fishnet-stack:{stack}"


def vm_url(node_url: str, item_hash: str, devnet: bool) -> str:
    """Where a program answers: ``{node}/vm/{hash}`` on devnet, ``aleph.sh`` on Aleph."""
    return f"{node_url.rstrip('/')}/vm/{item_hash}" if devnet else f"{ALEPH_VM_GATEWAY}/{item_hash}"


@dataclass(frozen=True)
class ExecutorEntry:
    """An executor of a release and its half-open timeslice (None = open end)."""

    item_hash: str
    start: str | None
    end: str | None


@dataclass(frozen=True)
class Release:
    versions: Mapping[str, str]
    api: tuple[str, ...]
    executors: tuple[ExecutorEntry, ...]
    authorized: tuple[str, ...] = ()
    identities: Mapping[str, str] = field(default_factory=dict)
    deprecated: bool = False
    created: float | None = None

    @property
    def programs(self) -> tuple[str, ...]:
        return self.api + tuple(e.item_hash for e in self.executors)

    def to_json(self) -> dict[str, Any]:
        return {
            "versions": dict(self.versions), "created": self.created, "api": list(self.api),
            "executors": [{"item_hash": e.item_hash, "start": e.start, "end": e.end}
                          for e in self.executors],
            "authorized": list(self.authorized), "identities": dict(self.identities),
            "deprecated": self.deprecated,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Release:
        try:
            return cls(
                versions={str(k): str(v) for k, v in dict(raw.get("versions") or {}).items()},
                api=tuple(str(h) for h in raw.get("api") or ()),
                executors=tuple(ExecutorEntry(str(e["item_hash"]), e.get("start"), e.get("end"))
                                for e in raw.get("executors") or ()),
                authorized=tuple(str(a) for a in raw.get("authorized") or ()),
                identities={str(k): str(v) for k, v in dict(raw.get("identities") or {}).items()},
                deprecated=bool(raw.get("deprecated", False)),
                created=None if raw.get("created") is None else float(raw["created"]),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ManifestError(f"malformed release: {exc}") from exc


@dataclass(frozen=True)
class Manifest:
    serial: int
    active: int | None
    releases: Mapping[int, Release]

    @property
    def active_release(self) -> Release | None:
        return None if self.active is None else self.releases.get(self.active)

    def to_json(self) -> dict[str, Any]:
        return {"serial": self.serial, "active": self.active,
                "releases": {str(n): r.to_json() for n, r in sorted(self.releases.items())}}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Manifest:
        return cls.parse(raw)

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Manifest:
        """Parse the aggregate value; raises :class:`ManifestError` on another shape."""
        try:
            releases = {int(n): Release.from_json(r) for n, r in
                        dict(raw.get("releases") or {}).items()}
            active = raw.get("active")
            return cls(serial=int(raw["serial"]),
                       active=None if active is None else int(active), releases=releases)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ManifestError(f"malformed manifest: {exc}") from exc

    def activate(self, number: int, release: Release | None = None) -> Manifest:
        """This manifest with release ``number`` (added when given) active and every other
        release deprecated."""
        releases = dict(self.releases)
        if release is not None:
            releases[number] = release
        releases = {n: replace(r, deprecated=n != number) for n, r in releases.items()}
        return Manifest(serial=max(self.serial, number), active=number, releases=releases)
