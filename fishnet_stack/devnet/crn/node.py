"""The devnet compute node: runs PROGRAM messages as local VM processes, like aleph-vm.

``ComputeNode`` is what the node sees: it turns processed messages into registrations, stops,
restarts and events, and ``/vm/{item_hash}/...`` requests into proxied calls. The lifecycle of
the VMs themselves (memory budget, boots, idle stops) is ``pool.VmPool``'s.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from fishnet_stack.devnet.crn.pool import ProgramGone, Vm, VmPool
from fishnet_stack.devnet.crn.process import BootError, log_tail
from fishnet_stack.devnet.crn.program import subscription_matches
from fishnet_stack.devnet.crn.proxy import forward, vm_target
from fishnet_stack.devnet.crn.source import ProgramSource
from fishnet_stack.devnet.crn.workspace import Workspace

__all__ = ["ComputeNode"]

logger = logging.getLogger(__name__)


class ComputeNode:
    """Runs the node's PROGRAM messages (DESIGN section 10).

    Owned by the node process and driven from its event loop: ``start`` once, ``notify`` for
    every processed message, ``proxy`` for ``/vm/{item_hash}/...``, ``stop`` on shutdown.
    ``boot_timeout`` bounds the time from spawn to readiness (import + lifespan startup).
    """

    def __init__(self, source: ProgramSource, *, data_dir: Path, node_url: str,
                 memory_mib: int, idle_timeout: float, boot_timeout: float = 60.0) -> None:
        self._source = source
        self._workspace = Workspace(data_dir, node_url)
        self._pool = VmPool(source, self._workspace, memory_mib=memory_mib,
                            idle_timeout=idle_timeout, boot_timeout=boot_timeout)

    async def start(self) -> None:
        """Prepare the workspace, learn every live program and boot the persistent ones
        (in the background: boot failures show in :meth:`status`, never raise here)."""
        self._workspace.open()
        self._pool.open()
        for item_hash, content in self._source.live_programs():
            vm = self._pool.register(item_hash, content)
            if vm.spec is not None and vm.spec.persistent:
                self._pool.request_boot(vm)

    async def notify(self, message: dict[str, Any]) -> None:
        """React to one processed message (an entry of ``messages.json``). Returns at once:
        boots, stops and event deliveries run as background tasks.

        PROGRAM registers (and boots when persistent); FORGET stops the forgotten programs for
        good; a STORE amending code or a volume used with ``use_latest`` restarts its users;
        any message goes, as an ``aleph.message`` event, to every program it matches a
        subscription of.
        """
        if self._pool.closed:
            return
        kind, content = message.get("type"), message.get("content") or {}
        item_hash = str(message.get("item_hash") or "")
        if kind == "PROGRAM" and item_hash:
            vm = self._pool.register(item_hash, content)
            if vm.spec is not None and vm.spec.persistent:
                self._pool.request_boot(vm)
        elif kind == "FORGET":
            for forgotten in content.get("hashes") or ():
                target = self._pool.vms.get(str(forgotten))
                if target is not None and not target.forgotten:
                    self._pool.halt(target, f"forgotten by FORGET {item_hash}", forgotten=True)
        elif kind == "STORE" and content.get("ref"):
            for vm in list(self._pool.vms.values()):
                if (vm.spec is not None and vm.spec.uses_latest(str(content["ref"]))
                        and vm.state in ("booting", "running")):
                    self._pool.spawn(self._pool.restart(
                        vm, f"restarted: STORE {item_hash} amends its code or a volume"))
        for vm in list(self._pool.vms.values()):
            if vm.forgotten or vm.spec is None:
                continue
            if any(subscription_matches(sub, message) for sub in vm.spec.subscriptions):
                self._pool.spawn(self._deliver(vm, message))

    async def proxy(self, request: Request, item_hash: str, path: str) -> Response:
        """Forward ``request`` to the program ``item_hash`` (booting it if needed).

        404 JSON for unknown or forgotten programs, 503 JSON with ``reason`` and ``log_tail``
        when it cannot boot (memory budget, crash, bad archive), 502 when the VM fails during
        the request; otherwise the program's own response.
        """
        vm = self._pool.vms.get(item_hash)
        if vm is None:
            content = self._source.get_program(item_hash)
            vm = None if content is None else self._pool.register(item_hash, content)
        if vm is None or vm.forgotten:
            return _not_found(item_hash)
        try:
            async with self._pool.use(vm, wait_for_memory=False) as process:
                extra = [(b"aleph-program-itemhash", item_hash.encode())]
                return await forward(process.client, request,
                                     vm_target(request, item_hash, path), extra)
        except ProgramGone:
            return _not_found(item_hash)
        except BootError as exc:
            return self._error(vm, 503, f"program {item_hash} cannot start", str(exc))
        except httpx.HTTPError as exc:
            if vm.forgotten:
                return _not_found(item_hash)
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            return self._error(vm, 502, f"program {item_hash} failed during the request", reason)

    def status(self) -> list[dict[str, Any]]:
        """One entry per known program: item_hash, state (stopped, waiting, booting, running,
        failed), reason, memory (MiB), persistent, log, socket, pid, inflight, log_tail."""
        rows = []
        for vm in self._pool.vms.values():
            process = vm.process
            rows.append({
                "item_hash": vm.item_hash, "state": vm.state, "reason": vm.reason,
                "memory": vm.spec.memory_mib if vm.spec else 0,
                "persistent": bool(vm.spec and vm.spec.persistent),
                "log": str(self._workspace.log_path(vm.item_hash)),
                "socket": str(process.launch.http_socket) if process else None,
                "pid": process.pid if process else None,
                "inflight": vm.inflight,
                "log_tail": vm.log_tail if vm.state == "failed" else "",
            })
        return rows

    async def stop(self) -> None:
        """Stop every VM (SIGTERM, then SIGKILL) and every background task. Idempotent."""
        await self._pool.close()
        self._workspace.close()

    async def _deliver(self, vm: Vm, message: dict[str, Any]) -> None:
        what = f"event {message.get('type')} {message.get('item_hash')}"
        try:
            async with self._pool.use(vm, wait_for_memory=True) as process:
                status, reply = await process.deliver(message)
            if status != 200:
                self._note(vm, f"{what}: the program failed (HTTP {status}): {reply}")
        except ProgramGone:
            pass
        except (BootError, httpx.HTTPError) as exc:
            self._note(vm, f"{what} not delivered: {exc}")

    def _note(self, vm: Vm, text: str) -> None:
        """A line from the compute node itself in the VM's log."""
        logger.info("%s: %s", vm.item_hash, text)
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        try:
            with self._workspace.log_path(vm.item_hash).open("a") as log:
                log.write(f"--- {stamp} devnet: {text}\n")
        except OSError:
            pass

    def _error(self, vm: Vm, status: int, error: str, reason: str) -> Response:
        tail = vm.log_tail or log_tail(self._workspace.log_path(vm.item_hash))
        return JSONResponse({"error": error, "reason": reason, "state": vm.state,
                             "log_tail": tail}, status_code=status)


def _not_found(item_hash: str) -> Response:
    return JSONResponse({"error": f"no program {item_hash} on this compute node "
                                  "(unknown or forgotten)"}, status_code=404)
