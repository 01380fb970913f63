"""ASGI lifespan: one long-running ``lifespan`` call, startup before serving, shutdown on stop.

Like uvicorn's ``lifespan="auto"``: an app that raises before acknowledging startup (it does
not speak the protocol) is served anyway; one that answers ``lifespan.startup.failed`` is not.
"""

from __future__ import annotations

import asyncio
import sys
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["AsgiApp", "Lifespan", "LifespanFailed"]

AsgiApp = Callable[
    [dict[str, Any], Callable[[], Awaitable[dict[str, Any]]],
     Callable[[dict[str, Any]], Awaitable[None]]],
    Awaitable[None],
]


class LifespanFailed(Exception):
    """The app refused to start (``lifespan.startup.failed``)."""


class Lifespan:
    """Drives the lifespan protocol of ``app``; ``state`` is shared with every request scope."""

    def __init__(self, app: AsgiApp, state: dict[str, Any]) -> None:
        self._app = app
        self._state = state
        self._inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._started = asyncio.Event()
        self._stopped = asyncio.Event()
        self._failure: str | None = None
        self._task: asyncio.Task[None] | None = None

    async def startup(self) -> None:
        """Return once the app acknowledged startup (or showed it ignores lifespan).

        Raises LifespanFailed when the app reported a startup failure.
        """
        self._task = asyncio.create_task(self._run())
        await self._inbox.put({"type": "lifespan.startup"})
        await self._started.wait()
        if self._failure is not None:
            raise LifespanFailed(self._failure or "lifespan.startup.failed")

    async def shutdown(self, timeout: float) -> None:
        """Ask the app to shut down and wait up to ``timeout`` seconds; never raises."""
        if self._task is None or self._task.done():
            return
        await self._inbox.put({"type": "lifespan.shutdown"})
        try:
            await asyncio.wait_for(self._stopped.wait(), timeout)
        except TimeoutError:
            print(f"lifespan shutdown did not finish within {timeout} s", file=sys.stderr)
        self._task.cancel()

    async def _run(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"},
                 "state": self._state}
        try:
            await self._app(scope, self._inbox.get, self._send)
        except Exception as exc:
            if self._started.is_set():
                traceback.print_exc()
            else:
                print(f"ASGI lifespan not supported by the app ({type(exc).__name__}: {exc}); "
                      "serving without it", file=sys.stderr)
        finally:
            self._started.set()
            self._stopped.set()

    async def _send(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "lifespan.startup.complete":
            self._started.set()
        elif kind == "lifespan.startup.failed":
            self._failure = str(message.get("message", ""))
            self._started.set()
        elif kind in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
            if kind.endswith("failed"):
                print(f"lifespan shutdown failed: {message.get('message', '')}", file=sys.stderr)
            self._stopped.set()
