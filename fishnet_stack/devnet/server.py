"""Run one devnet (node + compute node) in this process until SIGTERM/SIGINT."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from starlette.applications import Starlette

from fishnet_stack.devnet.api import Node
from fishnet_stack.devnet.config import DevnetConfig
from fishnet_stack.devnet.crn import ComputeNode
from fishnet_stack.devnet.daemon import remove_pidfile, write_pidfile
from fishnet_stack.devnet.programs import StoreProgramSource
from fishnet_stack.devnet.store import NodeStore

__all__ = ["build_node", "run_devnet"]


def build_node(config: DevnetConfig) -> tuple[Node, Starlette]:
    """The node and its ASGI app; the app's lifespan starts and stops the compute node."""
    store = NodeStore(config.data_dir / "node")
    crn = (
        ComputeNode(
            StoreProgramSource(store), data_dir=config.data_dir, node_url=config.url,
            memory_mib=config.crn_memory_mib, idle_timeout=config.vm_idle_timeout,
        )
        if config.compute
        else None
    )
    node = Node(config, store, crn)
    app = node.app()

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        if crn is not None:
            await crn.start()
        write_pidfile(config.data_dir, config.url)
        try:
            yield
        finally:
            remove_pidfile(config.data_dir)
            if crn is not None:
                await crn.stop()
            store.close()

    app.router.lifespan_context = lifespan
    return node, app


def run_devnet(config: DevnetConfig) -> None:
    """Serve until interrupted. Blocks."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    _, app = build_node(config)
    uvicorn.run(
        app, host=config.host, port=config.port, log_level="warning",
        ws="websockets-sansio", lifespan="on", timeout_graceful_shutdown=5,
    )
