"""Start, find and stop a devnet running as its own process.

A running devnet writes ``devnet.json`` (pid, url) into its data directory and removes it when it
exits; that file is how ``devnet down``, ``devnet status`` and the deployer find it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from fishnet_stack.devnet.config import DevnetConfig
from fishnet_stack.errors import DevnetError

__all__ = [
    "RunningDevnet",
    "find_devnet",
    "ping",
    "start_devnet",
    "stop_devnet",
    "write_pidfile",
    "describe_vms",
    "remove_pidfile",
]

PIDFILE = "devnet.json"
LOGFILE = "devnet.log"


@dataclass(frozen=True)
class RunningDevnet:
    """A devnet process found through its data directory."""

    pid: int
    url: str
    data_dir: Path


def ping(url: str, timeout: float = 1.0) -> bool:
    """Whether a node answers ``GET /api/v0/version`` at ``url``."""
    try:
        return httpx.get(f"{url}/api/v0/version", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited child not yet reaped by its parent) is not alive
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][:1] != "Z"
    except (OSError, IndexError):
        return True


def write_pidfile(data_dir: Path, url: str) -> None:
    """Record this process as the devnet of ``data_dir`` (called by the running node)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    tmp = data_dir / (PIDFILE + ".tmp")
    tmp.write_text(json.dumps({"pid": os.getpid(), "url": url}))
    tmp.replace(data_dir / PIDFILE)


def remove_pidfile(data_dir: Path) -> None:
    """Remove the pid file if it is this process's."""
    path = data_dir / PIDFILE
    try:
        if json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass


def find_devnet(data_dir: Path) -> RunningDevnet | None:
    """The devnet whose data directory is ``data_dir``, if its process is alive; None otherwise."""
    try:
        info: dict[str, Any] = json.loads((data_dir / PIDFILE).read_text())
        pid, url = int(info["pid"]), str(info["url"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not _alive(pid):
        return None
    return RunningDevnet(pid=pid, url=url, data_dir=data_dir)


def start_devnet(config: DevnetConfig, timeout: float = 60.0) -> RunningDevnet:
    """Start a devnet in the background and return once it answers.

    Raises :class:`DevnetError` when another devnet already uses ``config.data_dir``, or when the
    process exits or does not answer within ``timeout`` (with the end of its log).
    """
    existing = find_devnet(config.data_dir)
    if existing is not None:
        raise DevnetError(
            f"a devnet (pid {existing.pid}) already runs on {config.data_dir} at {existing.url}; "
            "use it, or stop it with `fishnet-stack devnet down`"
        )
    if ping(config.url, timeout=0.5):
        raise DevnetError(
            f"something already answers at {config.url}; stop it or pick another port "
            "(--port or FISHNET_DEVNET_PORT)"
        )
    config.data_dir.mkdir(parents=True, exist_ok=True)
    log_path = config.data_dir / LOGFILE
    args = [
        sys.executable, "-m", "fishnet_stack", "devnet", "up",
        "--host", config.host,
        "--port", str(config.port),
        "--data-dir", str(config.data_dir),
        "--fail-rate", str(config.fail_rate),
        "--crn-memory", str(config.crn_memory_mib),
        "--max-body-bytes", str(config.max_body_bytes),
    ]
    if not config.compute:
        args.append("--no-compute")
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise DevnetError(
                f"devnet exited with code {proc.returncode} while starting; its log "
                f"({log_path}) ends with:\n{_tail(log_path)}"
            )
        if ping(config.url, timeout=0.5):
            return RunningDevnet(pid=proc.pid, url=config.url, data_dir=config.data_dir)
        time.sleep(0.05)
    proc.kill()
    raise DevnetError(
        f"devnet did not answer at {config.url} within {timeout:.0f} s; see {log_path}"
    )


def stop_devnet(data_dir: Path, timeout: float = 15.0) -> RunningDevnet | None:
    """Stop the devnet of ``data_dir`` (SIGTERM, then SIGKILL after ``timeout``).

    Returns the devnet that was stopped, or None when none was running.
    """
    running = find_devnet(data_dir)
    if running is None:
        return None
    os.kill(running.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(running.pid):
            break
        time.sleep(0.05)
    else:
        os.killpg(running.pid, signal.SIGKILL)
    try:
        (data_dir / PIDFILE).unlink()
    except OSError:
        pass
    return running


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def describe_vms(url: str) -> list[str]:
    """One line per VM the devnet's compute node knows: hash, state, reason."""
    try:
        body = httpx.get(f"{url}/api/v0/devnet/vms", timeout=5).json()
    except (httpx.HTTPError, ValueError):
        return ["(compute node status unavailable)"]
    if not body.get("compute"):
        return ["compute node disabled (--no-compute)"]
    lines = []
    for vm in body.get("vms", []):
        reason = f" ({vm['reason']})" if vm.get("reason") else ""
        lines.append(f"{vm.get('item_hash')}  {vm.get('state')}{reason}")
    return lines or ["no programs"]
