"""TEMPORARY placeholder (replaced by the real compute node): runs no VM."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from fishnet_stack.devnet.crn.source import ProgramSource

__all__ = ["ComputeNode"]


class ComputeNode:
    def __init__(self, source: ProgramSource, *, data_dir: Path, node_url: str,
                 memory_mib: int, idle_timeout: float) -> None:
        self.source = source

    async def start(self) -> None:
        pass

    async def notify(self, message: dict[str, Any]) -> None:
        pass

    async def proxy(self, request: Request, item_hash: str, path: str) -> Response:
        return JSONResponse({"error": "compute node not built yet"}, status_code=503)

    def status(self) -> list[dict[str, Any]]:
        return []

    async def stop(self) -> None:
        pass
