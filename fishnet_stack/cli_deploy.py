"""The deployer's commands (plan, apply, output, status, logs, rollback, destroy, gc, validate,
schema, authorize). Thin: parse, call :mod:`fishnet_stack.deploy.operations`, render.

Exit codes: 0 success; 1 any error (usage included); ``plan --detailed-exitcode``: 2 when the
plan has changes.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import click

from fishnet_stack.aleph.accounts import load_key_file
from fishnet_stack.aleph.client import AlephClient
from fishnet_stack.aleph.security import SECURITY_KEY
from fishnet_stack.deploy import operations as ops
from fishnet_stack.deploy.inspect import log_files, outputs, render_plan, status_rows
from fishnet_stack.deploy.lifecycle import plan_destroy, plan_gc, plan_rollback
from fishnet_stack.deploy.plantypes import Plan
from fishnet_stack.devnet.config import default_data_dir
from fishnet_stack.devnet.daemon import find_devnet
from fishnet_stack.errors import ConfigError, StalePlan
from fishnet_stack.stackdoc import reference_markdown
from fishnet_stack.stackfile import check_owner_key, json_schema, load_stack

__all__ = ["COMMANDS"]

_stack_file = click.argument("stack_file", type=click.Path(dir_okay=False, path_type=Path))
_auto = click.option("--auto-approve", is_flag=True, help="Do not ask for confirmation.")


def _echo(text: str) -> None:
    click.echo(text, err=True)


def _show(plan: Plan) -> None:
    for line in render_plan(plan, colour=sys.stdout.isatty()):
        click.echo(line)


def _confirm(plan: Plan, auto_approve: bool) -> bool:
    _show(plan)
    if not plan.has_changes:
        return False
    if not auto_approve and not click.confirm("Do you want to perform these actions?"):
        raise click.exceptions.Abort()
    return True


def _run_plan(target: ops.Target, plan: Plan, built: dict[str, ops.Built] | None) -> None:
    result = asyncio.run(ops.apply(target, plan, built, echo=_echo))
    where = f" release {result.release} active;" if result.release is not None else ""
    click.echo(f"Apply complete:{where} {result.sent} message(s) sent, "
               f"{len(result.created)} program(s) created.")


@click.command("validate")
@_stack_file
def validate(stack_file: Path) -> None:
    """Check STACK_FILE offline: schema, values, timeslices, ${VAR}, key file."""
    stack = load_stack(stack_file)
    check_owner_key(stack, str(stack_file))
    programs = stack.api.instances + len(stack.executors.timeslices)
    click.echo(f"{stack_file}: valid (stack {stack.stack} on {stack.network}, "
               f"{programs} programs)")


@click.command("schema")
@click.option("--markdown", is_flag=True, help="Print the Markdown reference instead.")
def schema(markdown: bool) -> None:
    """Print the JSON Schema of stack files (or its Markdown reference)."""
    if markdown:
        click.echo(reference_markdown(json_schema()))
    else:
        click.echo(json.dumps(json_schema(), indent=2))


@click.command("plan")
@_stack_file
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when there are changes.")
@click.option("-out", "--out", "out", type=click.Path(dir_okay=False, path_type=Path),
              help="Save the plan for `apply PLANFILE`.")
def plan(stack_file: Path, as_json: bool, detailed_exitcode: bool, out: Path | None) -> None:
    """Show what apply would change on the network."""
    target = ops.open_target(stack_file, echo=_echo, start_devnet=True)
    built = ops.build_artifacts(target)
    result = asyncio.run(ops.make_plan(target, built))
    if as_json:
        document = result.to_json()
        del document["base"]  # the state read; kept in -out files for the staleness check
        click.echo(json.dumps(document, indent=1, sort_keys=True))
    else:
        _show(result)
    if out is not None:
        ops.save_plan(result, out, stack_file)
        _echo(f"Saved the plan to {out}; run: fishnet-stack apply {out}")
    if detailed_exitcode and result.has_changes:
        sys.exit(2)


@click.command("apply")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@_auto
def apply(file: Path, auto_approve: bool) -> None:
    """Apply a stack file (plans first and asks), or a plan saved with `plan -out`."""
    if ops.is_saved_plan(file):
        saved, stack_file = ops.load_plan(file)
        target = ops.open_target(stack_file, echo=_echo, start_devnet=True)
        with ops.lock(target):
            _apply_saved(file, target, saved)
        return
    target = ops.open_target(file, echo=_echo, start_devnet=True)
    with ops.lock(target):
        built = ops.build_artifacts(target)
        planned = asyncio.run(ops.make_plan(target, built))
        if _confirm(planned, auto_approve):
            _run_plan(target, planned, built)
        else:
            ops.drop_journal(target)


@click.command("output")
@_stack_file
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def output(stack_file: Path, as_json: bool) -> None:
    """The active release: manifest, versions, API and executor URLs."""
    target = ops.open_target(stack_file, echo=_echo)
    document = outputs(target.stack, target.node_url, asyncio.run(ops.observe(target)))
    if as_json:
        click.echo(json.dumps(document, indent=1))
        return
    manifest = document["manifest"]
    click.echo(f"stack {document['stack']} on {document['network']} (owner "
               f"{document['owner']}), active release {manifest['active']}")
    for api in document["api"]:
        click.echo(f"  api       {api['url']}")
    for executor in document["executors"]:
        span = executor["timeslice"]
        click.echo(f"  executor  {executor['url']}  [{span['start'] or '-inf'}, "
                   f"{span['end'] or '+inf'})")


@click.command("status")
@_stack_file
def status(stack_file: Path) -> None:
    """Each VM of the stack: release, version, URL, health."""
    target = ops.open_target(stack_file, echo=_echo)
    rows = asyncio.run(status_rows(target.stack, target.node_url,
                                   asyncio.run(ops.observe(target))))
    if not rows:
        click.echo(f"{target.stack.stack}: nothing deployed")
    for row in rows:
        health: Any = row["health"]
        state = ("inactive" if health is None else "healthy" if health.get("status") == "ok"
                 else f"unhealthy: {health.get('error', health)}")
        click.echo(f"{row['slot']:<42} {row['item_hash'][:12]}  release {row['release']:<3} "
                   f"{row['version']:<8} {state}  {row['url']}")


@click.command("logs")
@_stack_file
@click.option("--vm", help="Only this VM (item hash or unique prefix).")
def logs(stack_file: Path, vm: str | None) -> None:
    """Print the output of each VM of the stack (devnet)."""
    target = ops.open_target(stack_file, echo=_echo)
    for path in log_files(target.devnet_dir, asyncio.run(ops.observe(target)), vm):
        click.echo(f"==> {path.stem} <==")
        click.echo(path.read_text(errors="replace") if path.exists() else "(no output yet)")


def _apply_saved(file: Path, target: ops.Target, saved: Plan) -> None:
    asyncio.run(ops.refresh_check(target, saved))
    built = ops.build_artifacts(target)
    fresh = asyncio.run(ops.make_plan(target, built))
    if fresh.to_json()["changes"] != saved.to_json()["changes"]:
        raise StalePlan(f"{file}: the saved plan is stale: the stack file or the code "
                        "changed since it was made; run plan again")
    _show(saved)
    if saved.has_changes:
        _run_plan(target, saved, built)


def _lifecycle(stack_file: Path, auto_approve: bool, make: Any) -> None:
    target = ops.open_target(stack_file, echo=_echo)
    with ops.lock(target):
        planned = make(target, asyncio.run(ops.observe(target)))
        if _confirm(planned, auto_approve):
            _run_plan(target, planned, None)


@click.command("rollback")
@_stack_file
@click.option("--to", "serial", type=click.IntRange(min=1), required=True,
              help="Release to make active again.")
@_auto
def rollback(stack_file: Path, serial: int, auto_approve: bool) -> None:
    """Point the manifest back at an earlier release (no new PROGRAM)."""
    _lifecycle(stack_file, auto_approve,
               lambda t, s: plan_rollback(t.stack.stack, s, serial))


@click.command("destroy")
@_stack_file
@_auto
def destroy(stack_file: Path, auto_approve: bool) -> None:
    """Forget every program and STORE of the stack, its manifest and authorisations."""
    _lifecycle(stack_file, auto_approve, lambda t, s: plan_destroy(t.stack.stack, s))


@click.command("gc")
@_stack_file
@_auto
def gc(stack_file: Path, auto_approve: bool) -> None:
    """Forget releases beyond `retain` and what only they used."""
    _lifecycle(stack_file, auto_approve,
               lambda t, s: plan_gc(t.stack.stack, s, t.stack.retain))


@click.command("authorize")
@click.argument("key_file", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("address")
@click.option("--channel", required=True, help="Channel the address may post in.")
@click.option("--node", help="Aleph API URL [default: the running devnet].")
def authorize(key_file: Path, address: str, channel: str, node: str | None) -> None:
    """Let ADDRESS post and store in CHANNEL on behalf of KEY_FILE's address (dev VMs)."""
    account = load_key_file(key_file)
    if node is None:
        running = find_devnet(default_data_dir())
        if running is None:
            raise ConfigError("no devnet is running; pass --node URL")
        node = running.url
    asyncio.run(_authorize(node, account, address, channel))
    click.echo(f"{address} may now post and store in {channel} for {account.address}")


async def _authorize(node: str, account: Any, address: str, channel: str) -> None:
    async with AlephClient(node, account) as client:
        security = await client.aggregate(account.address, SECURITY_KEY) or {}
        raw = security.get("authorizations")
        entries = [e for e in raw if isinstance(e, dict)] if isinstance(raw, list) else []
        entry = {"address": address, "chain": "ETH", "channels": [channel],
                 "types": ["POST", "STORE"]}
        if entry in entries:
            return
        await client.submit("AGGREGATE", {"key": SECURITY_KEY,
                                          "content": {"authorizations": [*entries, entry]}},
                            channel)


COMMANDS = (validate, schema, plan, apply, output, status, logs, rollback, destroy, gc,
            authorize)
