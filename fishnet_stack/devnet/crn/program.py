"""A PROGRAM message's content, as the compute node reads it, and aleph-vm's subscription rule."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CODE_MOUNT",
    "DEFAULT_MEMORY_MIB",
    "DEFAULT_RUNTIME_ID",
    "PACKAGES_MOUNT",
    "EphemeralVolume",
    "ImmutableVolume",
    "PersistentVolume",
    "ProgramError",
    "ProgramSpec",
    "Volume",
    "subscription_matches",
]

# aleph.sdk.conf.settings.DEFAULT_RUNTIME_ID (devnet code may not import aleph.sdk).
DEFAULT_RUNTIME_ID = "63f07193e6ee9d207b7d1fcf8286f9aee34e6f12f101d2ec77c1229f92964696"
DEFAULT_MEMORY_MIB = 128  # aleph-message's default for resources.memory
CODE_MOUNT = "/opt/code"
PACKAGES_MOUNT = "/opt/packages"  # on sys.path right after the code, as in aleph runtimes


class ProgramError(Exception):
    """The PROGRAM content is something this compute node cannot run; the message says why."""


@dataclass(frozen=True)
class ImmutableVolume:
    """A STORE'd archive (zip or squashfs), mounted read-only."""

    mount: str
    ref: str
    use_latest: bool


@dataclass(frozen=True)
class PersistentVolume:
    """A directory kept across boots, named ``name`` within the program."""

    mount: str
    name: str


@dataclass(frozen=True)
class EphemeralVolume:
    """An empty directory, new at every boot."""

    mount: str


Volume = ImmutableVolume | PersistentVolume | EphemeralVolume


@dataclass(frozen=True)
class ProgramSpec:
    """What a boot needs from a PROGRAM's content. ``parse`` validates; the rest is data."""

    entrypoint: str
    code_ref: str
    code_encoding: str
    code_use_latest: bool
    memory_mib: int
    persistent: bool
    subscriptions: tuple[Mapping[str, Any], ...]
    variables: Mapping[str, str]
    volumes: tuple[Volume, ...]

    @classmethod
    def parse(cls, content: Mapping[str, Any]) -> ProgramSpec:
        """Read ``content``; raises ProgramError naming the first field that is unusable."""
        try:
            code = _mapping(content.get("code"), "code")
            encoding = str(code.get("encoding", "zip"))
            if encoding not in ("zip", "squashfs"):
                raise ProgramError(f"code.encoding {encoding!r} is not supported "
                                   "(the devnet runs zip and squashfs code)")
            interface = str(code.get("interface") or "asgi")
            if interface != "asgi":
                raise ProgramError(f"code.interface {interface!r} is not supported "
                                   "(the devnet runs ASGI programs)")
            runtime = _mapping(content.get("runtime"), "runtime")
            if not str(runtime.get("ref") or ""):
                raise ProgramError("runtime.ref is missing")
            resources = _mapping(content.get("resources") or {}, "resources")
            on = _mapping(content.get("on") or {}, "on")
            subscriptions = tuple(_mapping(s, "on.message[]") for s in on.get("message") or ())
            variables = _mapping(content.get("variables") or {}, "variables")
            return cls(
                entrypoint=str(code["entrypoint"]),
                code_ref=str(code["ref"]),
                code_encoding=encoding,
                code_use_latest=bool(code.get("use_latest", False)),
                memory_mib=int(resources.get("memory") or DEFAULT_MEMORY_MIB),
                persistent=bool(on.get("persistent", False)),
                subscriptions=subscriptions,
                variables={str(k): str(v) for k, v in variables.items()},
                volumes=_volumes(content.get("volumes") or ()),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ProgramError(f"invalid PROGRAM content: {type(exc).__name__}: {exc}") from exc

    def uses_latest(self, ref: str) -> bool:
        """Whether a new amend of the STORE ``ref`` changes what this program runs."""
        if self.code_use_latest and self.code_ref == ref:
            return True
        return any(isinstance(v, ImmutableVolume) and v.use_latest and v.ref == ref
                   for v in self.volumes)


def _mapping(value: object, field: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ProgramError(f"{field} must be an object, not {type(value).__name__}")
    return value


def _volumes(raw: object) -> tuple[Volume, ...]:
    if not isinstance(raw, list | tuple):
        raise ProgramError("volumes must be a list")
    volumes: list[Volume] = []
    for entry in raw:
        volume = _mapping(entry, "volumes[]")
        mount = _mount_path(volume.get("mount"))
        if "ref" in volume:
            volumes.append(ImmutableVolume(mount, str(volume["ref"]),
                                           bool(volume.get("use_latest", True))))
        elif volume.get("ephemeral"):
            volumes.append(EphemeralVolume(mount))
        else:
            name = str(volume.get("name") or mount)
            volumes.append(PersistentVolume(mount, re.sub(r"[^A-Za-z0-9_.-]", "_", name)
                                            .lstrip(".") or "volume"))
    mounts = [v.mount for v in volumes]
    if len(set(mounts)) != len(mounts):
        raise ProgramError(f"two volumes share a mount path: {sorted(mounts)}")
    names = [v.name for v in volumes if isinstance(v, PersistentVolume)]
    if len(set(names)) != len(names):
        raise ProgramError(f"two persistent volumes share a name: {sorted(names)}")
    return tuple(volumes)


def _mount_path(raw: object) -> str:
    path = str(raw or "")
    if not path.startswith("/") or posixpath.normpath(path) != path.rstrip("/"):
        raise ProgramError(f"volume mount {path!r} must be a normalised absolute path")
    path = path.rstrip("/")
    if not path or path == CODE_MOUNT:
        raise ProgramError(f"a volume cannot be mounted at {raw!r}")
    return path


def subscription_matches(subscription: Mapping[str, Any], message: Mapping[str, Any]) -> bool:
    """aleph-vm's rule: every key of the subscription equals the message's top-level field of
    that name, nested objects compared key by key; an empty subscription matches nothing."""
    return bool(subscription) and _includes(subscription, message)


def _includes(expected: object, actual: object) -> bool:
    if isinstance(expected, Mapping):
        return isinstance(actual, Mapping) and all(
            key in actual and _includes(value, actual[key]) for key, value in expected.items()
        )
    return expected == actual
