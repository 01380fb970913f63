"""The API app: a FastAPI application over one :class:`~api_app.state.ApiState`.

:func:`create_app` follows the VM contract of :mod:`fishnet_stack.vm` (``create_app(context)``;
the deployer's entrypoint wraps it with ``with_contract`` for ``/health`` and ``/identity``).
The index is built during ASGI lifespan startup, so the app answers only once it is ready.
Errors a caller can cause are answered 4xx with a JSON ``detail``; never a 500.
"""

from __future__ import annotations

import gc
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from api_app.body import BufferedBody
from api_app.routes import algorithms, datasets, executions, permissions, timeseries, users
from api_app.state import ApiState, parse_slices
from fishnet_stack.errors import DataError, FishnetError, NodeUnavailable
from fishnet_stack.model import Slice
from fishnet_stack.vm import VmContext

__all__ = ["create_app"]


MAX_BODY = 300 * 1024 * 1024


def create_app(context: VmContext, slices: list[Slice] | None = None) -> FastAPI:
    """The API app for ``context``. ``slices`` stamp executions; by default they come from
    ``FISHNET_SLICES`` (cut points, see :func:`~api_app.state.parse_slices`)."""
    state = ApiState(context, slices if slices is not None
                     else parse_slices(os.environ.get("FISHNET_SLICES", "")))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The index build allocates much and frees little: cyclic GC passes over the growing
        # heap would only slow it. What exists afterwards (modules, the index) lives as long
        # as the app: frozen out of the GC, whose full passes would stall requests for tens
        # of ms.
        gc.disable()
        try:
            await state.start()
        finally:
            gc.enable()
        gc.freeze()
        try:
            yield
        finally:
            await state.stop()

    app = FastAPI(title="Fishnet API", version=context.settings.version or "dev",
                  lifespan=lifespan)
    app.state.api = state
    app.add_middleware(BufferedBody, limit=MAX_BODY)
    for module in (timeseries, datasets, algorithms, executions, permissions, users):
        app.include_router(module.router)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", ""))}
                  for e in exc.errors()]
        return JSONResponse({"detail": errors}, status_code=422)

    @app.exception_handler(DataError)
    async def bad_data(request: Request, exc: DataError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.exception_handler(NodeUnavailable)
    async def node_down(request: Request, exc: NodeUnavailable) -> JSONResponse:
        return JSONResponse({"detail": f"the Aleph node is unavailable: {exc}"},
                            status_code=503)

    @app.exception_handler(FishnetError)
    async def refused(request: Request, exc: FishnetError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=400)

    return app
