"""An app started as a real process for tests and benchmarks: spawned in its own session,
ready once it answers ``GET /health``, stopped with SIGTERM (SIGKILL after a grace period)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]

__all__ = ["ROOT", "AppProcess"]


class AppProcess:
    """Subclasses say what to run (:meth:`command`) and with which extra environment."""

    name = "app"
    port: int
    data_dir: Path
    process: subprocess.Popen[bytes] | None

    def command(self) -> list[str]:
        raise NotImplementedError

    def environment(self) -> dict[str, str]:
        return {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.data_dir.parent / f"{self.name}-{self.port}.log"

    def start(self, timeout: float = 60.0) -> None:
        """Start the process; return once ``/health`` answers 200 (RuntimeError with the log's
        end if it exits or stays silent)."""
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as sink:
            self.process = subprocess.Popen(
                [sys.executable, *self.command()], cwd=ROOT, stdout=sink,
                stderr=subprocess.STDOUT, start_new_session=True,
                env={**os.environ, **self.environment()})
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}; its log "
                                   f"ends with:\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not answer within {timeout} s; see "
                                   f"{self.log}")
            time.sleep(0.05)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, sig)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
