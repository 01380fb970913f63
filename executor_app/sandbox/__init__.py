"""Run untrusted algorithm code in a fresh, confined child process (DESIGN section 8).

    sandbox = Sandbox(hidden=[data_dir])
    outcome = await sandbox.run(code, "run", params, [encode(df)], Limits(cpu_seconds=60))
    outcome.status, outcome.error, outcome.isolation, decode(outcome.payload)

Children fork from a warm zygote process (pandas, numpy, pyarrow already imported) that holds no
key; each child hides ``hidden`` directories and ``/proc``, has no network, no inherited file
descriptors, a scrubbed environment, rlimits, no new privileges and a seccomp filter. Any failure
of the algorithm (exception, limit, exit, signal) is an outcome, never an exception here.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from executor_app.sandbox.limits import Limits
from executor_app.sandbox.results import Payload, decode, encode, encode_input

__all__ = ["Limits", "Outcome", "Payload", "Sandbox", "decode", "encode", "encode_input"]

_BOOT = ("import sys, json; sys.path[:0] = json.loads(sys.argv[2]); "
         "from executor_app.sandbox.zygote import main; main()")


@dataclass(frozen=True)
class Outcome:
    """The result of one run: ``status`` ``ok`` (``payload`` holds the value) or ``error``."""

    status: str
    payload: Payload | None = None
    error: str | None = None
    isolation: dict[str, Any] = field(default_factory=dict)
    cpu_seconds: float = 0.0
    wall_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class Sandbox:
    """A warm zygote and the runs it forks; one run at a time (``run`` serialises callers)."""

    def __init__(self, hidden: Sequence[str] = (),
                 warm_imports: Sequence[str] = ("numpy", "pandas", "pyarrow.parquet")) -> None:
        self.hidden = [str(h) for h in hidden]
        self.warm_imports = list(warm_imports)
        self._process: subprocess.Popen[bytes] | None = None
        self._connection: Connection | None = None
        self._lock = asyncio.Lock()

    def _start(self) -> Connection:
        ours, theirs = socket.socketpair()
        # The package's own root first: an editable install finds it through a meta-path hook
        # that an isolated (-I -S) interpreter does not load.
        paths = [str(Path(__file__).resolve().parents[2]), *(p for p in sys.path if p)]
        self._process = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _BOOT, str(theirs.fileno()), json.dumps(paths),
             json.dumps(self.warm_imports)],
            pass_fds=[theirs.fileno()], env={"PATH": "/usr/bin:/bin", "TZ": "UTC"},
            stdin=subprocess.DEVNULL,
        )
        theirs.close()
        self._connection = Connection(ours.detach())
        return self._connection

    def _exchange(self, job: dict[str, Any], inputs: Sequence[Payload]) -> tuple[dict[str, Any],
                                                                                bytes]:
        connection = self._connection
        if connection is None or self._process is None or self._process.poll() is not None:
            connection = self._start()
        connection.send_bytes(json.dumps(job).encode())
        for payload in inputs:
            connection.send_bytes(payload.data)
        header: dict[str, Any] = json.loads(connection.recv_bytes())
        return header, connection.recv_bytes()

    async def run(self, code: str, entry: str, params: dict[str, Any],
                  inputs: Sequence[Payload], limits: Limits) -> Outcome:
        """Run ``entry`` (``run`` or ``aggregate``) of ``code`` on ``inputs`` in a new child."""
        job = {"code": code, "entry": entry, "params": params, "limits": asdict(limits),
               "hidden": self.hidden, "inputs": [p.kind for p in inputs]}
        async with self._lock:
            try:
                header, data = await asyncio.to_thread(self._exchange, job, inputs)
            except (EOFError, OSError) as exc:
                self.close()
                return Outcome("error", error=f"sandbox process failed: {exc}")
        payload = Payload(header["kind"], data) if header["status"] == "ok" else None
        return Outcome(header["status"], payload, header.get("error"), header["isolation"],
                       header["cpu_seconds"], header["wall_seconds"])

    def close(self) -> None:
        """Stop the zygote (a later run starts a new one)."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None
