"""The stack file (DESIGN section 3): YAML -> a validated, frozen :class:`Stack`.

``load_stack(path, environ)`` reads the file, substitutes ``${VAR}`` from ``environ`` (``$$`` is a
literal ``$``), validates every field and raises :class:`~fishnet_stack.errors.StackError`
listing *every* problem as ``file:line:column: key.path: what is wrong; what is valid``. It does
no network I/O; the only file it may touch besides the stack file is nothing: key files are
checked by :func:`check_owner_key` (called by ``validate`` and before any plan).
"""

from __future__ import annotations

import os
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
    ValidationError,
    field_validator,
    model_validator,
)

from fishnet_stack.errors import ConfigError, StackError, StackProblem
from fishnet_stack.timeutil import format_utc, parse_instant
from fishnet_stack.yamlpos import Positioned, YamlError, load_positioned

__all__ = [
    "ApiRole", "AppCode", "Apps", "ExecutorRole", "Owner", "Resources", "Stack", "Timeslice",
    "Versions",
    "check_owner_key", "json_schema", "load_stack", "parse_stack",
]

# Resource limits we accept for one Aleph program (aleph-vm's program limits).
MAX_VCPUS, MAX_MEMORY_MIB, MAX_SECONDS = 4, 16384, 3600
_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$\{([^}]*)\}?")

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


def _timeslice_problems(slices: list[Timeslice]) -> list[tuple[tuple[str | int, ...], str]]:
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


def _interpolate(doc: Positioned, environ: Mapping[str, str], file: str,
                 problems: list[StackProblem]) -> Any:
    def walk(value: Any, path: tuple[str | int, ...]) -> Any:
        if isinstance(value, dict):
            return {k: walk(v, (*path, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, (*path, i)) for i, v in enumerate(value)]
        if not isinstance(value, str):
            return value

        def substitute(match: re.Match[str]) -> str:
            if match.group(0) == "$$":
                return "$"
            name = match.group(1)
            line, column = doc.where(path)
            if name is None:
                problems.append(StackProblem(file, line, column, _dotted(path),
                                             f"bad interpolation {match.group(0)!r}; "
                                             "write ${NAME} (letters, digits, _) or $$ for $"))
                return ""
            if name not in environ:
                problems.append(StackProblem(file, line, column, _dotted(path),
                                             f"${{{name}}} is not set in the environment; "
                                             f"export {name} or remove the reference"))
                return ""
            return environ[name]

        return _VAR.sub(substitute, value)

    return walk(doc.data, ())


def _dotted(path: tuple[str | int, ...]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(document)"


def _pydantic_problems(exc: ValidationError, doc: Positioned,
                       file: str) -> list[StackProblem]:
    problems = []
    for error in exc.errors():
        loc = tuple(p for p in error["loc"] if isinstance(p, str | int))
        kind = error["type"]
        message = str(error["msg"]).removeprefix("Value error, ")
        if loc and loc[-1] == "[key]":
            loc = loc[:-1]
            line, column = doc.where(loc, key=True)
            message = f"invalid name {loc[-1]!r}: {message}"
        elif kind == "extra_forbidden":
            parent = loc[:-1]
            allowed = _allowed_keys(parent)
            message = f"unknown key {loc[-1]!r}" + (f"; valid keys: {', '.join(allowed)}"
                                                      if allowed else "")
            line, column = doc.where(loc, key=True)
        elif kind == "missing":
            message = f"required key {loc[-1]!r} is missing"
            line, column = doc.where(loc[:-1])
        else:
            line, column = doc.where(loc)
            if kind == "string_pattern_mismatch":
                message = f"{message} (got {error.get('input')!r})"
            elif kind == "string_type":
                message = f"{message} (got {error.get('input')!r}); quote it"
        problems.append(StackProblem(file, line, column, _dotted(loc), message))
    return problems


def _allowed_keys(path: tuple[str | int, ...]) -> list[str]:
    model: Any = Stack
    for part in path:
        if isinstance(part, int):
            continue
        annotation = model.model_fields[part].annotation if part in getattr(
            model, "model_fields", {}) else None
        args = getattr(annotation, "__args__", None)
        model = args[0] if args else annotation
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return []
    return sorted(k for k in model.model_fields if k != "base_dir")


def parse_stack(text: str, file: str = "<stack>", *, base_dir: Path = Path("."),
                environ: Mapping[str, str] | None = None) -> Stack:
    """Validate stack YAML ``text``; raises :class:`StackError` with every problem found."""
    try:
        doc = load_positioned(text)
    except YamlError as exc:
        raise StackError([StackProblem(file, exc.line, exc.column, "(document)",
                                       str(exc))]) from exc
    if not isinstance(doc.data, dict):
        raise StackError([StackProblem(file, 1, 1, "(document)",
                                       "a stack file is a YAML mapping; see stacks/local.yaml")])
    problems: list[StackProblem] = []
    data = _interpolate(doc, os.environ if environ is None else environ, file, problems)
    try:
        stack = Stack.model_validate({**data, "base_dir": base_dir})
    except ValidationError as exc:
        problems.extend(_pydantic_problems(exc, doc, file))
        raise StackError(problems) from exc
    for path, message in _timeslice_problems(stack.executors.timeslices):
        problems.append(StackProblem(file, *doc.where(path), _dotted(path), message))
    if problems:
        raise StackError(problems)
    return stack


def load_stack(path: Path, environ: Mapping[str, str] | None = None) -> Stack:
    """Read and validate the stack file at ``path`` (offline; see module docstring)."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read stack file: {exc.strerror}") from exc
    return parse_stack(text, str(path), base_dir=path.parent.resolve(), environ=environ)


def check_owner_key(stack: Stack, file: str, environ: Mapping[str, str] | None = None) -> None:
    """Raise :class:`StackError` at ``owner`` when the key cannot exist: a missing key file on a
    real network (devnet creates it), or an unset ``key_env``. Reads nothing secret."""
    env = os.environ if environ is None else environ
    path = stack.key_path
    where = _position_of(file, ("owner", "key_file" if path else "key_env"))
    if path is not None and not path.exists() and not stack.is_devnet:
        raise StackError([StackProblem(file, *where, "owner.key_file",
                                       f"key file {path} does not exist; create it (0x + 64 hex, "
                                       "mode 0600) or use key_env")])
    if stack.owner.key_env is not None and not env.get(stack.owner.key_env):
        raise StackError([StackProblem(file, *where, "owner.key_env",
                                       f"environment variable {stack.owner.key_env} is not set; "
                                       "export the owner's hex private key")])


def _position_of(file: str, path: tuple[str, ...]) -> tuple[int, int]:
    try:
        return load_positioned(Path(file).read_text()).where(path)
    except (OSError, YamlError):
        return (1, 1)


def json_schema() -> dict[str, Any]:
    """JSON Schema of the stack file (what ``fishnet-stack schema`` prints)."""
    schema = Stack.model_json_schema(mode="validation")
    schema.get("properties", {}).pop("base_dir", None)
    schema["title"] = "fishnet-stack stack file"
    return schema

