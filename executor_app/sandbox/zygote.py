"""The warm parent: a process that imported pandas, numpy and pyarrow once and forks one fresh
child per run. It never holds a key and never unpickles anything from a child.

Jobs arrive on a ``multiprocessing.connection`` socket from :class:`~executor_app.sandbox.Sandbox`:
a JSON header ``{"code", "entry", "params", "limits", "hidden", "inputs": [kind...]}`` then one
bytes frame per input; the answer is a JSON header ``{"status", "kind", "error", "isolation",
"cpu_seconds", "wall_seconds"}`` then the payload bytes (empty on error).
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import select
import signal
import socket
import sys
import time
from multiprocessing.connection import Connection
from typing import Any

from executor_app.sandbox.child import run_child
from executor_app.sandbox.limits import Limits
from executor_app.sandbox.results import Payload

__all__ = ["main", "supervise"]


class _Reader:
    """Reads length-prefixed frames from a child's pipe under a byte budget and a deadline."""

    def __init__(self, fd: int, budget: int, deadline: float) -> None:
        self.fd, self.budget, self.deadline = fd, budget, deadline
        self.buffer = bytearray()
        self.eof = False
        self.over_budget = False
        self.timed_out = False

    def _fill(self, wanted: int) -> bool:
        while len(self.buffer) < wanted and not self.eof:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                self.timed_out = True
                return False
            ready, _, _ = select.select([self.fd], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(self.fd, 1 << 20)
            if not chunk:
                self.eof = True
                break
            self.buffer += chunk
            if len(self.buffer) > self.budget:
                self.over_budget = True
                return False
        return len(self.buffer) >= wanted

    def frame(self) -> bytes | None:
        if not self._fill(8):
            return None
        size = int.from_bytes(self.buffer[:8], "big")
        if size > self.budget:
            self.over_budget = True
            return None
        if not self._fill(8 + size):
            return None
        data = bytes(self.buffer[8:8 + size])
        del self.buffer[:8 + size]
        return data


def _signal_reason(status: int, limits: Limits) -> str:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig == signal.SIGXCPU:
            return f"CPU time limit of {limits.cpu_seconds} s exceeded"
        if sig == signal.SIGKILL:
            return "killed (SIGKILL), most likely over its CPU or memory limit"
        return f"killed by signal {signal.Signals(sig).name}"
    return f"exited with code {os.WEXITSTATUS(status)} before returning a result"


def supervise(job: dict[str, Any], inputs: list[Payload]) -> tuple[dict[str, Any], bytes]:
    """Fork a child for ``job``, wait for its result within the limits, reap it."""
    limits = Limits(**job["limits"])
    read_fd, write_fd = os.pipe()
    started = time.monotonic()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read_fd)
        run_child(fd=write_fd, code=job["code"], entry=job["entry"], params=job["params"],
                  inputs=inputs, limits=limits, hidden=job["hidden"])
    os.close(write_fd)
    reader = _Reader(read_fd, limits.output_bytes + (1 << 16), started + limits.wall_seconds)
    isolation_raw, outcome_raw = reader.frame(), None
    if isolation_raw is not None:
        outcome_raw = reader.frame()
    payload = b""
    outcome: dict[str, Any] = json.loads(outcome_raw) if outcome_raw else {}
    if outcome.get("status") == "ok":
        data = reader.frame()
        if data is None:
            outcome = {}
        else:
            payload = data
    if reader.over_budget or reader.timed_out:
        os.kill(pid, signal.SIGKILL)
    os.close(read_fd)
    _, status = os.waitpid(pid, 0)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    header: dict[str, Any] = {
        "isolation": json.loads(isolation_raw) if isolation_raw else {"active": [],
                                                                      "unavailable": {}},
        "cpu_seconds": (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
        "wall_seconds": time.monotonic() - started,
    }
    if reader.over_budget:
        header.update(status="error", error=f"result larger than {limits.output_bytes} bytes")
    elif reader.timed_out:
        header.update(status="error",
                      error=f"wall-clock limit of {limits.wall_seconds:g} s exceeded")
    elif outcome.get("status") == "ok":
        header.update(status="ok", kind=outcome["kind"])
    elif outcome.get("status") == "error":
        header.update(status="error", error=outcome["error"])
    else:
        header.update(status="error", error=_signal_reason(status, limits))
    return header, payload if header["status"] == "ok" else b""


def serve(connection: Connection) -> None:
    """Answer jobs until the connection closes."""
    while True:
        try:
            job = json.loads(connection.recv_bytes())
        except (EOFError, OSError):
            return
        inputs = [Payload(kind, connection.recv_bytes()) for kind in job["inputs"]]
        header, payload = supervise(job, inputs)
        connection.send_bytes(json.dumps(header).encode())
        connection.send_bytes(payload)


def main() -> None:
    """``python -c`` entry: argv[1] is the fd of the job socket, argv[3] the JSON list of modules
    to import before serving (children inherit them loaded)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for module in json.loads(sys.argv[3]):
        importlib.import_module(module)
    sock = socket.socket(fileno=int(sys.argv[1]))
    serve(Connection(sock.detach()))
