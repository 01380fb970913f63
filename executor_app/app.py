"""The executor's ASGI app: the work loop runs for the app's lifetime; ``aleph.message`` events
wake it; ``GET /`` reports what it is doing. ``/health`` and ``/identity`` come from the VM
contract wrapper (:func:`fishnet_stack.vm.with_contract`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Awaitable, Callable
from typing import Any

import pandas as pd

from executor_app.environments import get_environment
from executor_app.sandbox import Limits, Sandbox, encode
from executor_app.slices import Timeslice
from executor_app.worker import Worker, WorkerConfig
from fishnet_stack.aleph.accounts import Account
from fishnet_stack.aleph.client import AlephClient
from fishnet_stack.aleph.stream import watch
from fishnet_stack.chunks import ChunkStore
from fishnet_stack.vm import ASGIApp, Receive, Scope, Send, VmContext

__all__ = ["create_app", "sandbox_ceiling"]

MiB = 1024 * 1024


def sandbox_ceiling(environ: dict[str, str] | None = None) -> Limits:
    """The most one run may use, from the program's settings: ``FISHNET_RUN_SECONDS`` (CPU and
    wall clock, default 300) and ``FISHNET_RUN_MEMORY_MIB`` (default 2048)."""
    env = os.environ if environ is None else environ
    seconds = int(env.get("FISHNET_RUN_SECONDS", "300") or 300)
    memory = int(env.get("FISHNET_RUN_MEMORY_MIB", "2048") or 2048)
    return Limits(cpu_seconds=seconds, wall_seconds=seconds * 2.0, memory_bytes=memory * MiB)


async def _reply(send: Send, status: int, body: Any) -> None:
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": data})


async def _wake_on_stream(api: str, channel: str, worker: Worker) -> None:
    """Poke the worker on every POST of the channel: Aleph compute nodes deliver
    ``aleph.message`` events only to VMs that were up, and standalone executors get none, so the
    node's message stream is the prompt trigger everywhere; the periodic scan stays the
    guarantee."""
    async for _ in watch(api, {"channels": channel, "msgTypes": "POST"},
                         on_connect=_async(worker.poke)):
        worker.poke()


def _async(action: Callable[[], None]) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        action()

    return run


def create_app(context: VmContext, ceiling: Limits | None = None,
               scan_interval: float = 2.0) -> ASGIApp:
    """The executor app for ``context`` (settings and VM key)."""
    settings = context.settings
    config = WorkerConfig(
        owner=settings.owner, channel=settings.channel, release=settings.release,
        timeslice=Timeslice(settings.slice_start, settings.slice_end),
        ceiling=ceiling or sandbox_ceiling(), scan_interval=scan_interval,
        claim_settle=float(os.environ.get("FISHNET_CLAIM_SETTLE", "0.3") or 0.3),
    )
    running: dict[str, Any] = {}

    async def startup() -> None:
        aleph = AlephClient(settings.aleph_api, Account(context.identity.private_key))
        await aleph.__aenter__()
        sandbox = Sandbox(hidden=[str(settings.data_dir)],
                          warm_imports=get_environment("pandas").warm_imports)
        memory = int(os.environ.get("FISHNET_CHUNK_MEMORY_MIB", "512") or 512) * MiB
        chunks = ChunkStore(aleph, settings.channel, settings.owner,
                            cache_dir=settings.data_dir / "chunks", memory_bytes=memory)
        running["isolation"] = await _probe(sandbox)
        worker = Worker(config, aleph, sandbox, chunks)
        running.update(aleph=aleph, sandbox=sandbox, worker=worker, tasks=[
            asyncio.create_task(worker.run()),
            asyncio.create_task(_wake_on_stream(settings.aleph_api, settings.channel, worker)),
        ])

    async def shutdown() -> None:
        for task in running.get("tasks", []):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if "sandbox" in running:
            running["sandbox"].close()
        if "aleph" in running:
            await running["aleph"].__aexit__(None, None, None)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await startup()
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await shutdown()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        worker: Worker | None = running.get("worker")
        if scope["type"] == "aleph.message":
            await receive()
            if worker is not None:
                worker.poke()  # the scan reads trusted records itself: the event is only a hint
            await _reply(send, 200, {"ok": True})
            return
        if scope["type"] != "http":
            return
        if scope["path"] == "/" and worker is not None:
            await _reply(send, 200, worker.status())
        else:
            await _reply(send, 404, {"error": f"no route {scope['path']}"})

    def health_extra() -> dict[str, Any]:
        return {"sandbox": running.get("isolation", {"state": "starting"})}

    app.health_extra = health_extra  # type: ignore[attr-defined]
    return app


async def _probe(sandbox: Sandbox) -> dict[str, Any]:
    """Start the sandbox's warm parent and learn which isolation layers this machine allows,
    for ``/health`` (Results record the layers of each run)."""
    outcome = await sandbox.run("def run(df, params):\n    return 1\n", "run", {},
                                [encode(pd.DataFrame())], Limits(cpu_seconds=30, wall_seconds=60))
    if not outcome.ok:
        return {"error": outcome.error or "the sandbox probe failed"}
    return dict(outcome.isolation)
