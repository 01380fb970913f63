"""What a stack expands to (DESIGN 4.1), before anything is compared: pure functions.

:class:`ArtifactSummary` is what plan needs of a build (hashes, not bytes). :func:`desired_programs`
lists one :class:`DesiredProgram` per API instance and per executor timeslice, each with a
``spec_hash`` over everything that defines the program except the refs of its STOREs (stood for
by the code tree hash and packages lock hash) and the release that creates it, so an unchanged
program keeps its hash across releases and is reused rather than replaced.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from functools import cached_property
from typing import Any

from fishnet_stack.build import ENTRYPOINT
from fishnet_stack.stackfile import Stack, Timeslice
from fishnet_stack.timeutil import format_utc
from fishnet_stack.vm import IDENTITY_MOUNT

__all__ = ["ROLES", "ArtifactSummary", "DesiredProgram", "desired_programs", "executor_slot",
           "identity_volume"]

ROLES = ("api", "executor")
PACKAGES_MOUNT = "/opt/packages"


def identity_volume() -> dict[str, Any]:
    """The persistent volume that keeps the VM's key across restarts (DESIGN 5)."""
    return {"name": "identity", "mount": IDENTITY_MOUNT, "persistence": "host", "size_mib": 1}


@dataclass(frozen=True)
class ArtifactSummary:
    """A built app for ``role``: code tree and file hashes, and its packages volume if any."""

    role: str
    version: str
    tree_hash: str
    file_hash: str
    encoding: str
    packages_lock: str | None = None
    packages_file_hash: str | None = None


@dataclass(frozen=True)
class DesiredProgram:
    """One program the stack wants. ``slot`` names its place: ``api[0]``,
    ``executor[2020-01-01T00:00:00Z,+inf)``."""

    slot: str
    role: str
    version: str
    tree_hash: str
    encoding: str
    packages_lock: str | None
    resources: dict[str, int]
    variables: dict[str, str]
    timeslice: dict[str, str | None] | None
    subscriptions: list[dict[str, str]]

    @cached_property
    def spec_hash(self) -> str:
        spec = {**asdict(self), "entrypoint": ENTRYPOINT, "volumes": [identity_volume()],
                "persistent": True}
        text = json.dumps(spec, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "spec_hash": self.spec_hash}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DesiredProgram:
        fields = {k: v for k, v in data.items() if k != "spec_hash"}
        return cls(**fields)


def executor_slot(start: str | None, end: str | None) -> str:
    return f"executor[{start or '-inf'},{end or '+inf'})"


def _bounds(piece: Timeslice) -> tuple[str | None, str | None]:
    return (format_utc(piece.start) if piece.start else None,
            format_utc(piece.end) if piece.end else None)


def sandbox_limits(seconds: int, memory_mib: int) -> dict[str, str]:
    """The executor app's ceiling for one sandboxed run, from its program's resources: the
    program's time limit, and its memory less what the executor itself needs (never under the
    1 GiB pyarrow needs)."""
    return {"FISHNET_RUN_SECONDS": str(seconds),
            "FISHNET_RUN_MEMORY_MIB": str(max(1024, memory_mib - 512))}


def desired_programs(stack: Stack, owner: str,
                     artifacts: dict[str, ArtifactSummary]) -> list[DesiredProgram]:
    """API instances in order, then executors in time order."""
    common = {"FISHNET_STACK": stack.stack, "FISHNET_CHANNEL": stack.channel,
              "FISHNET_OWNER": owner, "FISHNET_DATA_DIR": IDENTITY_MOUNT}
    out: list[DesiredProgram] = []
    api = artifacts["api"]
    for index in range(stack.api.instances):
        variables = {**stack.variables, **stack.api.variables, **common,
                     "FISHNET_ROLE": "api", "FISHNET_VERSION": stack.versions.api}
        out.append(DesiredProgram(
            slot=f"api[{index}]", role="api", version=stack.versions.api,
            tree_hash=api.tree_hash, encoding=api.encoding, packages_lock=api.packages_lock,
            resources=stack.api.resources.model_dump(), variables=dict(sorted(variables.items())),
            timeslice=None, subscriptions=[]))
    executor = artifacts["executor"]
    for piece in stack.executors.timeslices:
        start, end = _bounds(piece)
        variables = {**stack.variables, **stack.executors.variables, **common,
                     "FISHNET_ROLE": "executor", "FISHNET_VERSION": stack.versions.executor,
                     "FISHNET_SLICE_START": start or "", "FISHNET_SLICE_END": end or "",
                     **sandbox_limits(stack.executors.resources.seconds,
                                      stack.executors.resources.memory)}
        out.append(DesiredProgram(
            slot=executor_slot(start, end), role="executor", version=stack.versions.executor,
            tree_hash=executor.tree_hash, encoding=executor.encoding,
            packages_lock=executor.packages_lock,
            resources=stack.executors.resources.model_dump(),
            variables=dict(sorted(variables.items())), timeslice={"start": start, "end": end},
            subscriptions=[{"channel": stack.channel, "type": "POST"}]))
    return out
