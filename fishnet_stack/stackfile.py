"""The stack file (DESIGN section 3): YAML -> a validated, frozen :class:`Stack`.

``load_stack(path, environ)`` reads the file, substitutes ``${VAR}`` from ``environ`` (``$$`` is a
literal ``$``), validates every field (models in :mod:`fishnet_stack.stackmodel`) and raises
:class:`~fishnet_stack.errors.StackError` listing *every* problem as ``file:line:column:
key.path: what is wrong; what is valid``. It does no network I/O. Key files are checked by
:func:`check_owner_key` (called by ``validate`` and before any plan).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from fishnet_stack.errors import ConfigError, StackError, StackProblem
from fishnet_stack.stackmodel import (
    ApiRole,
    AppCode,
    Apps,
    ExecutorRole,
    Owner,
    Resources,
    Stack,
    Timeslice,
    Versions,
    timeslice_problems,
)
from fishnet_stack.yamlpos import Positioned, YamlError, load_positioned

__all__ = [
    "ApiRole", "AppCode", "Apps", "ExecutorRole", "Owner", "Resources", "Stack", "Timeslice",
    "Versions", "check_owner_key", "json_schema", "load_stack", "parse_stack",
]

_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$\{([^}]*)\}?")


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
    for path, message in timeslice_problems(stack.executors.timeslices):
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

