"""One boot of one VM: a ``python -I -S`` process serving a program on two Unix sockets."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from fishnet_stack.devnet.runtime.spec import BOOTSTRAP, Mount, VmSpec

__all__ = ["BootError", "Launch", "VmProcess", "log_tail"]

# Programs may take minutes to answer (an executor running an algorithm).
CLIENT_TIMEOUT = httpx.Timeout(3600.0, connect=30.0)


class BootError(Exception):
    """A VM could not be started; ``str()`` is the reason a user reads."""


@dataclass(frozen=True)
class Launch:
    """Everything prepared for one boot: the VM's view of the world and where its ends are."""

    item_hash: str
    entrypoint: str
    mounts: tuple[Mount, ...]
    sys_path: tuple[str, ...]
    env: Mapping[str, str]
    runtime_dir: Path
    log_path: Path
    http_socket: Path
    events_socket: Path
    scratch: Path  # this boot's ephemeral volumes


def log_tail(path: Path, lines: int = 20) -> str:
    """The last ``lines`` lines of a VM log ("" when there is none)."""
    try:
        with path.open("rb") as file:
            file.seek(max(0, file.seek(0, os.SEEK_END) - 16384))
            text = file.read().decode(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


class VmProcess:
    """A started VM. ``client`` reaches its HTTP socket; ``deliver`` its event socket."""

    def __init__(self, process: asyncio.subprocess.Process, launch: Launch) -> None:
        self._process = process
        self.launch = launch
        self.client = httpx.AsyncClient(
            transport=httpx.AsyncHTTPTransport(uds=str(launch.http_socket)),
            timeout=CLIENT_TIMEOUT)
        self._events = httpx.AsyncClient(
            transport=httpx.AsyncHTTPTransport(uds=str(launch.events_socket)),
            timeout=CLIENT_TIMEOUT)
        self._stopping: asyncio.Task[None] | None = None
        self._active = 0
        self._quiet = asyncio.Event()
        self._quiet.set()

    @property
    def pid(self) -> int:
        return self._process.pid

    @classmethod
    async def start(cls, launch: Launch, timeout: float) -> VmProcess:
        """Spawn the VM and return once it reports ready (program imported, lifespan started).

        Raises BootError (with the harness's own reason when it gave one) if it fails, exits
        or stays silent for ``timeout`` seconds; the process is gone by then. Cancelling kills it.
        """
        listeners: list[socket.socket] = []
        try:
            for path in (launch.http_socket, launch.events_socket):
                listeners.append(_listen(path))
        except BootError:
            for listener in listeners:
                listener.close()
            raise
        read_fd, write_fd = os.pipe()
        spec = VmSpec(
            item_hash=launch.item_hash, entrypoint=launch.entrypoint, mounts=launch.mounts,
            sys_path=launch.sys_path, http_fd=listeners[0].fileno(),
            events_fd=listeners[1].fileno(), ready_fd=write_fd, parent_pid=os.getpid(),
        )
        try:
            with launch.log_path.open("ab") as log:
                stamp = time.strftime("%Y-%m-%d %H:%M:%S")
                log.write(f"--- {stamp} devnet boot of {launch.item_hash} ---\n".encode())
                log.flush()
                process = await asyncio.create_subprocess_exec(
                    sys.executable, "-I", "-S", "-u", "-B", "-c", BOOTSTRAP,
                    str(launch.runtime_dir), spec.dumps(),
                    stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=asyncio.subprocess.STDOUT,
                    env=dict(launch.env), cwd="/", start_new_session=True,
                    pass_fds=(listeners[0].fileno(), listeners[1].fileno(), write_fd),
                )
        except OSError as exc:
            os.close(read_fd)
            raise BootError(f"cannot start {sys.executable}: {exc}") from exc
        finally:
            os.close(write_fd)
            for listener in listeners:  # the VM holds its own copies
                listener.close()
        vm = cls(process, launch)
        try:
            await vm._await_ready(read_fd, timeout)
        except BaseException:
            await vm.stop(grace=0.0)
            raise
        return vm

    async def _await_ready(self, read_fd: int, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(read_fd, "rb", buffering=0))
        try:
            line = await asyncio.wait_for(reader.readline(), timeout)
        except TimeoutError:
            raise BootError(f"not ready within {timeout:g} s") from None
        finally:
            transport.close()
        if not line:
            try:
                code = await asyncio.wait_for(self._process.wait(), 5.0)
            except TimeoutError:
                raise BootError("closed its readiness pipe without a word") from None
            raise BootError(f"exited with code {code} before it was ready")
        try:
            report: dict[str, Any] = json.loads(line)
        except ValueError:
            raise BootError(f"unreadable readiness report {line[:200]!r}") from None
        if not report.get("ready"):
            raise BootError(str(report.get("error") or "failed to start"))

    @contextlib.asynccontextmanager
    async def track(self) -> AsyncIterator[None]:
        """Count a request or event as in flight on this process (see ``stop``'s drain)."""
        self._active += 1
        self._quiet.clear()
        try:
            yield
        finally:
            self._active -= 1
            if self._active == 0:
                self._quiet.set()

    async def wait(self) -> int:
        """Wait for the process to exit; its exit status."""
        return await self._process.wait()

    async def deliver(self, message: Mapping[str, Any]) -> tuple[int, Any]:
        """Run ``message`` through the program's ``aleph.message`` handler: (status, reply).

        Raises httpx.HTTPError when the VM cannot be reached or dies meanwhile.
        """
        response = await self._events.post(
            "http://vm/", content=json.dumps(message).encode(),
            headers={"content-type": "application/json"})
        try:
            return response.status_code, response.json()
        except ValueError:
            return response.status_code, response.text

    async def stop(self, grace: float, drain: float = 0.0) -> None:
        """Wait up to ``drain`` seconds for tracked requests to finish, then SIGTERM, then
        SIGKILL to the VM's whole process group after ``grace`` seconds.

        Idempotent and safe to call concurrently (the first call's timings apply); returns
        once the process is gone.
        """
        if self._stopping is None:
            self._stopping = asyncio.create_task(self._terminate(grace, drain))
        await asyncio.shield(self._stopping)

    async def _terminate(self, grace: float, drain: float) -> None:
        if drain > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._quiet.wait(), drain)
        if self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._process.send_signal(signal.SIGTERM)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._process.wait(), grace)
        # Also ends whatever the program spawned (it runs in its own session).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._process.pid, signal.SIGKILL)
        await self._process.wait()
        await self.client.aclose()
        await self._events.aclose()
        for path in (self.launch.http_socket, self.launch.events_socket):
            path.unlink(missing_ok=True)


def _listen(path: Path) -> socket.socket:
    path.unlink(missing_ok=True)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(str(path))
        listener.listen(128)
    except OSError as exc:
        listener.close()
        raise BootError(f"cannot listen on {path}: {exc}") from exc
    return listener
