"""The compute node's VMs: registry, memory budget, boots, stops and idle reaping.

State of one program (``Vm.state``)::

    stopped ──boot──▶ booting ──ready──▶ running ──idle / FORGET / amend / stop──▶ stopped
       │                 │                  └──crash──▶ failed ──next use──▶ booting
       └─no memory─▶ waiting ──memory freed──▶ booting

Memory is reserved by ``booting`` and ``running`` VMs and released the moment a VM leaves
those states (its process is then terminated in the background). Every state change happens
synchronously on the event loop, so a check and the change it justifies never interleave.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any

from fishnet_stack.devnet.crn.process import BootError, VmProcess, log_tail
from fishnet_stack.devnet.crn.program import ProgramError, ProgramSpec
from fishnet_stack.devnet.crn.source import ProgramSource
from fishnet_stack.devnet.crn.workspace import Workspace

__all__ = ["ProgramGone", "Vm", "VmPool"]

logger = logging.getLogger(__name__)

STOP_GRACE = 8.0  # seconds between SIGTERM and SIGKILL (the harness allows 5 for shutdown)
AMEND_DRAIN = 60.0  # an amended program's old VM may finish its requests for this long
MEMORY_WAIT = 600.0  # how long an event waits for memory before it is dropped
RESERVING = ("booting", "running")


class ProgramGone(Exception):
    """The program is forgotten: it is never served again."""


@dataclass(eq=False)
class Vm:
    """One known program and its current VM, if any."""

    item_hash: str
    spec: ProgramSpec | None  # None: the content is unusable, ``reason`` says why
    state: str = "stopped"
    reason: str = ""
    log_tail: str = ""
    process: VmProcess | None = None
    booting: asyncio.Task[None] | None = None
    inflight: int = 0
    last_active: float = field(default_factory=time.monotonic)
    forgotten: bool = False
    changed: asyncio.Event = field(default_factory=asyncio.Event)


class VmPool:
    """Owns every Vm; all methods run on the node's event loop."""

    def __init__(self, source: ProgramSource, workspace: Workspace, *, memory_mib: int,
                 idle_timeout: float, boot_timeout: float) -> None:
        self._source = source
        self._workspace = workspace
        self._memory_mib = memory_mib
        self._idle_timeout = idle_timeout
        self._boot_timeout = boot_timeout
        self.vms: dict[str, Vm] = {}
        self._waiting: list[Vm] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._reaper: asyncio.Task[None] | None = None
        self.closed = False

    def register(self, item_hash: str, content: Mapping[str, Any]) -> Vm:
        """The Vm of ``item_hash``, created (stopped, or failed if unusable) on first sight."""
        vm = self.vms.get(item_hash)
        if vm is None:
            try:
                vm = Vm(item_hash, ProgramSpec.parse(content))
            except ProgramError as exc:
                vm = Vm(item_hash, None, state="failed", reason=str(exc))
            self.vms[item_hash] = vm
        return vm

    def open(self) -> None:
        """Accept boots again and run the idle reaper (idempotent)."""
        self.closed = False
        if self._reaper is None or self._reaper.done():
            self._reaper = asyncio.get_running_loop().create_task(self._reap_idle())

    async def close(self) -> None:
        """Stop every VM and background task; no boot starts afterwards. Idempotent."""
        self.closed = True
        if self._reaper is not None:
            self._reaper.cancel()
            self._reaper = None
        halts = [self.halt(vm, "compute node stopped") for vm in self.vms.values()
                 if vm.state in RESERVING or vm.state == "waiting"]
        await asyncio.gather(*halts, return_exceptions=True)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def spawn(self, coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run ``coroutine`` in the background; ``close`` cancels it."""
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    @contextlib.asynccontextmanager
    async def use(self, vm: Vm, *, wait_for_memory: bool) -> AsyncIterator[VmProcess]:
        """The running process of ``vm`` (booted if needed), counted as busy meanwhile: an
        idle stop never happens and an amend restart waits while it is in use.

        Raises ProgramGone when forgotten; BootError with the reason when it cannot run. A VM
        waiting for memory fails at once, unless ``wait_for_memory`` (then up to 10 min).
        """
        vm.inflight += 1
        try:
            process = await self._acquire(vm, wait_for_memory)
            async with process.track():
                yield process
        finally:
            vm.inflight -= 1
            vm.last_active = time.monotonic()
            if self._waiting and vm.inflight == 0:
                self._admit_waiting()

    async def _acquire(self, vm: Vm, wait_for_memory: bool) -> VmProcess:
        deadline = time.monotonic() + MEMORY_WAIT
        while True:
            if vm.forgotten:
                raise ProgramGone(vm.item_hash)
            if vm.state == "running" and vm.process is not None:
                return vm.process
            if vm.booting is None:
                self.request_boot(vm)
            if vm.booting is not None:
                await asyncio.wait({vm.booting})
                if vm.forgotten:
                    raise ProgramGone(vm.item_hash)
                if vm.state == "running" and vm.process is not None:
                    return vm.process
                raise BootError(vm.reason or f"the VM is {vm.state}")
            if vm.state != "waiting" or not wait_for_memory:
                raise BootError(vm.reason or f"the VM is {vm.state}")
            try:
                await asyncio.wait_for(vm.changed.wait(), deadline - time.monotonic())
            except TimeoutError:
                raise BootError(vm.reason) from None

    # -- booting ------------------------------------------------------------------------------

    def request_boot(self, vm: Vm) -> None:
        """Start booting ``vm`` now if memory allows (evicting idle VMs), else queue it."""
        if self.closed or vm.forgotten or vm.booting is not None or vm.state == "running":
            return
        if vm.spec is None:
            return  # unusable content: stays failed with its reason
        if self._source.get_program(vm.item_hash) is None:
            self.halt(vm, "the PROGRAM message is forgotten", forgotten=True)
            return
        need = vm.spec.memory_mib
        if need > self._memory_mib:
            self._fail(vm, f"needs {need} MiB of memory, more than the compute node's whole "
                           f"budget of {self._memory_mib} MiB (devnet up --crn-memory)")
            return
        if not self._fits(need):
            self._evict_idle(need)
        if not self._fits(need):
            if vm not in self._waiting:
                self._waiting.append(vm)
            self._set(vm, "waiting", f"waiting for memory: needs {need} MiB, "
                                     f"{self._used_mib()} of {self._memory_mib} MiB in use")
            return
        if vm in self._waiting:
            self._waiting.remove(vm)
        self._set(vm, "booting", "")
        vm.booting = self.spawn(self._boot(vm, vm.spec))

    async def _boot(self, vm: Vm, spec: ProgramSpec) -> None:
        try:
            launch = await self._workspace.prepare(vm.item_hash, spec, self._source)
            try:
                process = await VmProcess.start(launch, self._boot_timeout)
            except BaseException:
                self._workspace.discard(launch)
                raise
            if vm.state != "booting":  # halted while it booted
                await self._terminate(None, process, 0.0)
                return
            vm.process, vm.last_active = process, time.monotonic()
            self._set(vm, "running", "")
            self.spawn(self._watch(vm, process))
        except BootError as exc:
            if vm.state == "booting":
                self._fail(vm, str(exc))
        except Exception as exc:  # a bug here must not leave the VM "booting" forever
            logger.exception("booting %s", vm.item_hash)
            if vm.state == "booting":
                self._fail(vm, f"internal error while booting: {exc!r}")
        finally:
            vm.booting = None

    async def _watch(self, vm: Vm, process: VmProcess) -> None:
        code = await process.wait()
        if vm.process is not process:
            return  # stopped on purpose
        vm.process = None
        last = log_tail(self._workspace.log_path(vm.item_hash), 1).strip()
        self._fail(vm, f"exited with code {code}" + (f": {last}" if last else ""))
        await self._terminate(None, process, 0.0)

    def _fail(self, vm: Vm, reason: str) -> None:
        vm.log_tail = log_tail(self._workspace.log_path(vm.item_hash))
        self._set(vm, "failed", reason)
        self._admit_waiting()

    def _set(self, vm: Vm, state: str, reason: str) -> None:
        vm.state, vm.reason = state, reason
        vm.changed.set()
        vm.changed = asyncio.Event()

    def _used_mib(self) -> int:
        return sum(vm.spec.memory_mib for vm in self.vms.values()
                   if vm.state in RESERVING and vm.spec is not None)

    def _fits(self, need: int) -> bool:
        return self._used_mib() + need <= self._memory_mib

    def _admit_waiting(self) -> None:
        for vm in list(self._waiting):
            if vm.forgotten or vm.state != "waiting":
                self._waiting.remove(vm)
            elif vm.spec is not None and self._fits(vm.spec.memory_mib):
                self.request_boot(vm)

    # -- stopping -----------------------------------------------------------------------------

    def halt(self, vm: Vm, reason: str, *, forgotten: bool = False,
             drain: float = 0.0) -> asyncio.Task[None]:
        """Mark ``vm`` stopped now: memory released, no new use reaches its process, never
        served again if ``forgotten``. The returned task ends its boot, lets the process finish
        what it is doing for up to ``drain`` seconds, then stops it."""
        vm.forgotten = vm.forgotten or forgotten
        if vm in self._waiting:
            self._waiting.remove(vm)
        booting, process, vm.process = vm.booting, vm.process, None
        self._set(vm, "stopped", reason)
        self._admit_waiting()
        return self.spawn(self._terminate(booting, process, drain))

    async def restart(self, vm: Vm, reason: str) -> None:
        """Replace the VM by a fresh boot of the latest code (at once when persistent, else on
        next use); the old process finishes its requests first."""
        booting = vm.booting
        self.halt(vm, reason, drain=AMEND_DRAIN)
        if booting is not None:
            await asyncio.wait({booting})
        if vm.spec is not None and vm.spec.persistent:
            self.request_boot(vm)

    async def _terminate(self, booting: asyncio.Task[None] | None, process: VmProcess | None,
                         drain: float) -> None:
        if booting is not None:
            booting.cancel()
            await asyncio.wait({booting})
        if process is not None:
            await process.stop(STOP_GRACE, drain)
            self._workspace.discard(process.launch)

    def _is_idle(self, vm: Vm) -> bool:
        return (vm.state == "running" and vm.inflight == 0 and vm.spec is not None
                and not vm.spec.persistent)

    def _evict_idle(self, need: int) -> None:
        """Stop idle non-persistent VMs, least recently used first, until ``need`` MiB fit."""
        for vm in sorted(filter(self._is_idle, self.vms.values()), key=lambda v: v.last_active):
            if self._fits(need):
                return
            self.halt(vm, "stopped to make room for another program")

    async def _reap_idle(self) -> None:
        period = max(0.05, min(1.0, self._idle_timeout / 4))
        while True:
            await asyncio.sleep(period)
            now = time.monotonic()
            for vm in list(self.vms.values()):
                if self._is_idle(vm) and now - vm.last_active >= self._idle_timeout:
                    self.halt(vm, f"idle for {self._idle_timeout:g} s")
