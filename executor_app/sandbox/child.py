"""What a sandboxed child does after fork: confine itself, run the algorithm, write the result.

Frames on the result pipe (each an 8-byte big-endian length, then bytes): the isolation report
(JSON), then the outcome (JSON: ``{"status": "ok", "kind"}`` or ``{"status": "error",
"error"}``), then, when ok, the payload.
"""

from __future__ import annotations

import json
import os
import traceback
from collections.abc import Sequence
from typing import Any

import pandas as pd

from executor_app.sandbox.isolation import isolate
from executor_app.sandbox.limits import Limits
from executor_app.sandbox.results import Payload, decode, encode

__all__ = ["default_aggregate", "run_child", "write_frame"]


def write_frame(fd: int, data: bytes) -> None:
    view = memoryview(len(data).to_bytes(8, "big") + data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def default_aggregate(partials: Sequence[Any]) -> Any:
    """Concatenate frames or series in time order; any other partials become a list."""
    present = [p for p in partials if p is not None]
    if present and all(isinstance(p, pd.DataFrame) for p in present):
        return pd.concat(present).sort_index(kind="stable")
    if present and all(isinstance(p, pd.Series) for p in present):
        return pd.concat(present).sort_index(kind="stable")
    return list(partials)


def _execute(code: str, entry: str, params: dict[str, Any], inputs: list[Payload]) -> Any:
    namespace: dict[str, Any] = {"__name__": "algorithm", "__builtins__": __builtins__}
    exec(compile(code, "<algorithm>", "exec"), namespace)  # noqa: S102 - the sandbox's purpose
    function = namespace.get(entry)
    if entry == "run":
        if not callable(function):
            raise TypeError("the algorithm defines no run(df, params) function")
        return function(decode(inputs[0]), params)
    partials = [decode(p) for p in inputs]
    if function is None:
        return default_aggregate(partials)
    if not callable(function):
        raise TypeError("aggregate is not a function")
    return function(partials, params)


def _describe(exc: BaseException, limits: Limits) -> str:
    if isinstance(exc, SystemExit):
        return f"the algorithm called sys.exit({exc.code!r})"
    if isinstance(exc, MemoryError):
        return f"out of memory (limit {limits.memory_bytes // (1024 * 1024)} MiB)"
    frames = traceback.extract_tb(exc.__traceback__)
    mine = [f for f in frames if f.filename == "<algorithm>"]
    where = f" (algorithm line {mine[-1].lineno})" if mine else ""
    return f"{type(exc).__name__}: {exc}{where}"


def run_child(*, fd: int, code: str, entry: str, params: dict[str, Any], inputs: list[Payload],
              limits: Limits, hidden: list[str]) -> None:
    """Never returns: confines this process, runs ``entry`` and exits."""
    status = 0
    try:
        state = isolate(hidden=hidden, keep_fds=[fd], limits=limits)
        write_frame(fd, json.dumps({"active": state.active,
                                    "unavailable": state.unavailable}).encode())
        try:
            payload = encode(_execute(code, entry, params, inputs))
            write_frame(fd, json.dumps({"status": "ok", "kind": payload.kind}).encode())
            write_frame(fd, payload.data)
        except BaseException as exc:  # noqa: BLE001 - every failure is the algorithm's result
            write_frame(fd, json.dumps({"status": "error",
                                        "error": _describe(exc, limits)}).encode())
    except BaseException:  # noqa: BLE001 - a broken pipe or isolation failure: just exit
        status = 70
    finally:
        os._exit(status)
