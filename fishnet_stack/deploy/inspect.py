"""Read-only views of a deployed stack: ``output``, ``status`` and ``logs``, plus plan text.

Nothing here writes to the network. URLs are derived from the node and item hashes
(:func:`fishnet_stack.manifest.vm_url`), never read from storage.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import click
import httpx

from fishnet_stack.deploy.plantypes import Action, Plan
from fishnet_stack.deploy.state import ObservedState
from fishnet_stack.deploy.vms import fetch_health
from fishnet_stack.errors import ConfigError
from fishnet_stack.manifest import vm_url
from fishnet_stack.stackfile import Stack

__all__ = ["log_files", "outputs", "render_plan", "status_rows"]

_COLOURS = {Action.CREATE: "green", Action.REPLACE: "yellow", Action.REMOVE: "red",
            Action.UPDATE: "cyan"}


def render_plan(plan: Plan, colour: bool = True) -> list[str]:
    """The plan as a compact table (one line per change) and a summary line."""
    lines = []
    width = max((len(c.address) for c in plan.changes), default=0)
    for change in plan.changes:
        symbol = change.action.value.rjust(3)
        if colour:
            symbol = click.style(symbol, fg=_COLOURS[change.action], bold=True)
        lines.append(f"  {symbol} {change.kind:<14} {change.address:<{width}}  {change.reason}")
    counts = plan.summary()
    if not plan.changes:
        lines.append(f"No changes. {plan.stack} matches the network.")
    else:
        release = f" -> release {plan.release}" if plan.release is not None else ""
        lines.append(f"Plan ({plan.operation}{release}): {counts['create']} to create, "
                     f"{counts['replace']} to replace, {counts['remove']} to remove, "
                     f"{counts['update']} to update.")
    return lines


def outputs(stack: Stack, node_url: str, state: ObservedState) -> dict[str, Any]:
    """The ``output --json`` document for the active release (empty lists when none)."""
    manifest = state.manifest
    release = manifest.active_release if manifest else None

    def url(item_hash: str) -> str:
        return vm_url(node_url, item_hash, stack.is_devnet)

    return {
        "stack": stack.stack, "network": stack.network, "owner": state.owner,
        "manifest": {"serial": manifest.serial if manifest else None,
                     "item_hash": state.manifest_hash,
                     "active": manifest.active if manifest else None},
        "versions": dict(release.versions) if release else {},
        "api": [{"item_hash": h, "url": url(h)} for h in (release.api if release else ())],
        "executors": [{"item_hash": e.item_hash, "url": url(e.item_hash),
                       "timeslice": {"start": e.start, "end": e.end}}
                      for e in (release.executors if release else ())],
    }


async def status_rows(stack: Stack, node_url: str, state: ObservedState) -> list[dict[str, Any]]:
    """One row per live program of the stack: slot, release, version, URL, health."""
    manifest = state.manifest
    active = set(manifest.active_release.programs) if manifest and manifest.active_release \
        else set()
    async with httpx.AsyncClient(timeout=10) as http:
        async def row(program: Any) -> dict[str, Any]:
            url = vm_url(node_url, program.item_hash, stack.is_devnet)
            health = await fetch_health(http, url) if program.item_hash in active else None
            return {"slot": program.slot, "item_hash": program.item_hash,
                    "release": program.release, "version": program.version, "url": url,
                    "active": program.item_hash in active,
                    "health": health if isinstance(health, dict | None) else {"error": health}}
        return list(await asyncio.gather(*(row(p) for p in state.programs)))


def log_files(devnet_dir: Path | None, state: ObservedState, vm: str | None) -> list[Path]:
    """The devnet log file of each program (or of ``vm``, a hash or a unique prefix)."""
    if devnet_dir is None:
        raise ConfigError("logs are only kept by devnet; on Aleph, read them from the compute "
                          "node that runs the VM")
    hashes = [p.item_hash for p in state.programs]
    if vm is not None:
        hashes = [h for h in hashes if h.startswith(vm)]
        if len(hashes) != 1:
            raise ConfigError(f"--vm {vm}: matches {len(hashes)} program(s) of this stack; "
                              "give a longer prefix of an item hash listed by `status`")
    return [devnet_dir / "crn" / "logs" / f"{h}.log" for h in hashes]
