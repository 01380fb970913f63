"""The API app as one ASGI callable, built from the environment (what a VM runs).

``uvicorn --factory api_app.asgi:build`` or, in a templated entrypoint, ``app = build()``.
Settings: :class:`fishnet_stack.vm.VmSettings` variables plus ``FISHNET_SLICES``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from api_app.app import create_app
from api_app.state import parse_slices
from fishnet_stack.vm import ASGIApp, VmContext, with_contract

__all__ = ["build"]


def build(environ: Mapping[str, str] | None = None, tree_hash: str = "") -> ASGIApp:
    """The contract-wrapped API app for ``environ`` (default ``os.environ``).

    Raises :class:`fishnet_stack.vm.VmConfigError` for a malformed setting and ValueError
    for malformed ``FISHNET_SLICES``.
    """
    env = os.environ if environ is None else environ
    context = VmContext.from_env(env)
    app = create_app(context, parse_slices(env.get("FISHNET_SLICES", "")))
    return with_contract(app, context, tree_hash=tree_hash or env.get("FISHNET_TREE_HASH", ""))
