"""Entry point of a VM process: isolate, import the program, start it, serve until SIGTERM.

Runs as ``python -I -S -u -B -c BOOTSTRAP <runtime dir> <VmSpec JSON>`` (see ``spec``). Exit
status 0 after a clean stop; before readiness, every failure is also reported on ``ready_fd``.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import signal
import socket
import sys
import traceback
from functools import partial
from typing import IO, Any, cast

from .asgi import event_handler, http_handler, serve_connection
from .http11 import MAX_HEAD_BYTES
from .lifespan import AsgiApp, Lifespan, LifespanFailed
from .mounts import IsolationError, apply_mounts, exit_with_parent
from .spec import VmSpec

__all__ = ["load_entrypoint", "main"]

SHUTDOWN_TIMEOUT = 5.0


def main(spec_json: str) -> int:
    """Run one VM described by ``spec_json``; returns the process exit status."""
    spec = VmSpec.loads(spec_json)
    ready = os.fdopen(spec.ready_fd, "w", encoding="utf-8")
    try:
        exit_with_parent(spec.parent_pid)
        apply_mounts(spec.mounts)
    except IsolationError as exc:
        print(f"cannot isolate the VM: {exc}", file=sys.stderr)
        return _report(ready, error=str(exc))
    sys.dont_write_bytecode = True
    sys.path[:0] = spec.sys_path
    os.chdir("/")
    return asyncio.run(_serve(spec, ready))


def load_entrypoint(entrypoint: str) -> AsgiApp:
    """Import ``module:attr`` (``attr`` defaults to ``app``); raises what the import raises."""
    module_name, _, attr = entrypoint.partition(":")
    target: Any = importlib.import_module(module_name)
    for part in (attr or "app").split("."):
        target = getattr(target, part)
    if not callable(target):
        raise TypeError(f"{entrypoint} is a {type(target).__name__}, not an ASGI app")
    return cast(AsgiApp, target)


async def _serve(spec: VmSpec, ready: IO[str]) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        app = load_entrypoint(spec.entrypoint)
    except Exception as exc:
        traceback.print_exc()
        return _report(ready, error=f"cannot load {spec.entrypoint}: {type(exc).__name__}: {exc}")
    state: dict[str, Any] = {}
    lifespan = Lifespan(app, state)
    try:
        await lifespan.startup()
    except LifespanFailed as exc:
        print(f"ASGI startup failed: {exc}", file=sys.stderr)
        return _report(ready, error=f"ASGI startup failed: {exc}")
    servers = [
        await asyncio.start_unix_server(partial(serve_connection, handler),
                                        sock=socket.socket(fileno=fd), limit=MAX_HEAD_BYTES)
        for fd, handler in ((spec.http_fd, http_handler(app, state)),
                            (spec.events_fd, event_handler(app)))
    ]
    if _report(ready, ready=True) != 0:
        return 1
    await stop.wait()
    for server in servers:
        server.close()
    await lifespan.shutdown(SHUTDOWN_TIMEOUT)
    return 0


def _report(channel: IO[str], **fields: Any) -> int:
    """Tell the compute node how the boot went; 0 when it heard us and all is well."""
    try:
        with channel:
            channel.write(json.dumps(fields) + "\n")
    except OSError:
        return 1
    return 0 if fields.get("ready") else 1
