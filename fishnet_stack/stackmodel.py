"""The stack file's data model (DESIGN section 3): strict pydantic models, no I/O.

Every model forbids unknown keys (a typo is an error, not a silent default) and is frozen.
:mod:`fishnet_stack.stackfile` loads YAML into :class:`Stack` and turns validation errors into
``file:line:column`` problems; :func:`timeslice_problems` checks what a single field cannot.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from fishnet_stack.timeutil import format_utc, parse_instant

__all__ = [
    "MAX_MEMORY_MIB", "MAX_SECONDS", "MAX_VCPUS", "ApiRole", "AppCode", "Apps", "ExecutorRole",
    "Owner", "Resources", "Stack", "Timeslice", "Versions", "timeslice_problems",
]

# Resource limits we accept for one Aleph program (aleph-vm's program limits).
MAX_VCPUS, MAX_MEMORY_MIB, MAX_SECONDS = 4, 16384, 3600

Name = Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{1,40}$")]
Channel = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
SemVer = Annotated[str, StringConstraints(
    pattern=r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")]
VarName = Annotated[str, StringConstraints(pattern=r"^[A-Z_][A-Z0-9_]{0,63}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Owner(_Strict):
    """Where the owner's key is: a key file (relative to the stack file) or an env variable."""

    key_file: str | None = None
    key_env: Annotated[str | None, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Owner:
        if (self.key_file is None) == (self.key_env is None):
            raise ValueError("give exactly one of key_file or key_env")
        return self


class Versions(_Strict):
    """Semver of each app's code; a version maps to exactly one code tree once deployed."""

    api: SemVer
    executor: SemVer


class Resources(_Strict):
    vcpus: int = Field(1, ge=1, le=MAX_VCPUS)
    memory: int = Field(2048, ge=128, le=MAX_MEMORY_MIB, description="MiB")
    seconds: int = Field(30, ge=1, le=MAX_SECONDS)


def _stringify(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: str(v).lower() if isinstance(v, bool) else
                (str(v) if isinstance(v, int | float) else v) for k, v in value.items()}
    return value


class _Variables(_Strict):
    variables: dict[VarName, str] = Field(default_factory=dict)

    @field_validator("variables", mode="before")
    @classmethod
    def _scalars(cls, value: Any) -> Any:
        return _stringify(value)

    @field_validator("variables")
    @classmethod
    def _not_reserved(cls, value: dict[str, str]) -> dict[str, str]:
        reserved = sorted(k for k in value if k.startswith(("FISHNET_", "ALEPH_")))
        if reserved:
            raise ValueError(f"{', '.join(reserved)}: FISHNET_* and ALEPH_* are set by the "
                             "deployer; pick another name")
        return value


class AppCode(_Strict):
    """Where a role's app comes from (default: the bundled ``api_app`` / ``executor_app``).

    ``path`` is the app's Python package directory (relative to the stack file); ``factory`` is
    ``package.module:function``, called with a :class:`fishnet_stack.vm.VmContext`;
    ``requirements`` is a pinned requirements file for the packages volume.
    """

    path: str
    factory: Annotated[str, StringConstraints(
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$")]
    requirements: str | None = None


class Apps(_Strict):
    api: AppCode | None = None
    executor: AppCode | None = None


class ApiRole(_Variables):
    instances: int = Field(1, ge=1, le=16)
    resources: Resources = Resources(vcpus=1, memory=2048, seconds=30)


class Timeslice(_Strict):
    """Half-open ``[start, end)``; None is an open end."""

    start: datetime | None = None
    end: datetime | None = None

    @field_validator("start", "end", mode="before")
    @classmethod
    def _instant(cls, value: Any) -> Any:
        return None if value is None else parse_instant(value)

    def label(self) -> str:
        return (f"[{format_utc(self.start) if self.start else '-inf'}, "
                f"{format_utc(self.end) if self.end else '+inf'})")


class ExecutorRole(_Variables):
    resources: Resources = Resources(vcpus=1, memory=2048, seconds=300)
    timeslices: list[Timeslice] = Field(min_length=1, max_length=1000)


class Stack(_Variables):
    """A validated stack file. ``base_dir`` (not in the YAML) is the stack file's directory."""

    stack: Name
    network: str
    channel: Channel
    owner: Owner
    versions: Versions
    api: ApiRole
    executors: ExecutorRole
    retain: int = Field(3, ge=1, le=1000)
    apps: Apps = Apps()
    base_dir: Path = Field(Path("."), exclude=True)

    @field_validator("network")
    @classmethod
    def _network(cls, value: str) -> str:
        if value == "devnet":
            return value
        if not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:\d{1,5})?(/[^\s]*)?", value):
            raise ValueError(f"{value!r} is neither \"devnet\" nor an http(s) URL of an Aleph "
                             "API node such as https://api2.aleph.im")
        return value.rstrip("/")

    @property
    def is_devnet(self) -> bool:
        return self.network == "devnet"

    @property
    def key_path(self) -> Path | None:
        """The owner's key file, resolved against the stack file's directory."""
        if self.owner.key_file is None:
            return None
        return (self.base_dir / self.owner.key_file).resolve()

    @property
    def manifest_key(self) -> str:
        return f"fishnet-stack:{self.stack}"


def timeslice_problems(slices: list[Timeslice]) -> list[tuple[tuple[str | int, ...], str]]:
    """Where the timeslices fail to partition the time axis, as (path, message) pairs."""
    hint = ("timeslices must be contiguous and cover the whole time axis: "
            "[{end: A}, {start: A, end: B}, {start: B}]")
    problems: list[tuple[tuple[str | int, ...], str]] = []
    base: tuple[str | int, ...] = ("executors", "timeslices")
    last = len(slices) - 1
    for i, piece in enumerate(slices):
        if i == 0 and piece.start is not None:
            problems.append(((*base, 0, "start"),
                             f"the first timeslice must have no start; {hint}"))
        if i == last and piece.end is not None:
            problems.append(((*base, i, "end"), f"the last timeslice must have no end; {hint}"))
        if i < last and piece.end is None:
            problems.append(((*base, i), f"timeslice {i} has no end but is not the last; {hint}"))
        if i > 0 and piece.start is None:
            problems.append(((*base, i), f"timeslice {i} has no start but is not the first; "
                             f"{hint}"))
        if piece.start and piece.end and piece.start >= piece.end:
            problems.append(((*base, i, "end"), f"timeslice {i} ends before it starts"))
        previous_end = slices[i - 1].end if i else None
        if previous_end and piece.start and previous_end != piece.start:
            kind = "overlaps" if piece.start < previous_end else "leaves a gap after"
            problems.append(((*base, i, "start"),
                             f"timeslice {i} {kind} timeslice {i - 1}: start "
                             f"{format_utc(piece.start)} != previous end "
                             f"{format_utc(previous_end)}; {hint}"))
    return problems
