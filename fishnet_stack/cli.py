"""The ``fishnet-stack`` command line: parse, call the library, render. Nothing else lives here."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from fishnet_stack.cli_deploy import COMMANDS
from fishnet_stack.devnet import daemon
from fishnet_stack.devnet.config import DevnetConfig, default_data_dir, default_port
from fishnet_stack.devnet.server import run_devnet
from fishnet_stack.errors import FishnetError

__all__ = ["main", "cli"]


@click.group()
@click.version_option(package_name="fishnet-stack")
def cli() -> None:
    """Deploy and run Fishnet on Aleph.im, or on the embedded devnet."""


@cli.group()
def devnet() -> None:
    """The embedded local Aleph node and compute node."""


_port = click.option(
    "--port", type=click.IntRange(1, 65535), default=None,
    help="Port to listen on [default: $FISHNET_DEVNET_PORT or 4024].",
)
_data_dir = click.option(
    "--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Where the devnet keeps its data [default: $FISHNET_DEVNET_DIR or .fishnet/devnet].",
)


@devnet.command("up")
@_port
@_data_dir
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--detach", is_flag=True, help="Run in the background; return once it answers.")
@click.option(
    "--fail-rate", type=click.FloatRange(0.0, 1.0, max_open=True), default=0.0,
    show_default=True, help="Fraction of write requests answered with HTTP 500 (fault tests).",
)
@click.option("--crn-memory", type=click.IntRange(min=128), default=None,
              help="Memory budget of the compute node, MiB [default: 80% of the machine].")
@click.option("--no-compute", is_flag=True, help="Run the node without the compute node.")
@click.option("--max-body-bytes", type=click.IntRange(min=1024), default=None,
              help="Largest request body accepted, bytes [default: 256 MiB].")
def devnet_up(
    port: int | None, data_dir: Path | None, host: str, detach: bool, fail_rate: float,
    crn_memory: int | None, no_compute: bool, max_body_bytes: int | None,
) -> None:
    """Start a devnet (in the foreground unless --detach)."""
    extra: dict[str, Any] = {}
    if crn_memory is not None:
        extra["crn_memory_mib"] = crn_memory
    if max_body_bytes is not None:
        extra["max_body_bytes"] = max_body_bytes
    config = DevnetConfig(
        host=host, port=port or default_port(), data_dir=data_dir or default_data_dir(),
        fail_rate=fail_rate, compute=not no_compute, **extra,
    )
    if detach:
        running = daemon.start_devnet(config)
        click.echo(
            f"devnet running at {running.url} (pid {running.pid}, data in {config.data_dir})"
        )
        return
    run_devnet(config)


@devnet.command("down")
@_data_dir
def devnet_down(data_dir: Path | None) -> None:
    """Stop the devnet that uses DATA_DIR."""
    directory = data_dir or default_data_dir()
    stopped = daemon.stop_devnet(directory)
    if stopped is None:
        click.echo(f"no devnet is running on {directory}")
    else:
        click.echo(f"devnet at {stopped.url} (pid {stopped.pid}) stopped")


@devnet.command("status")
@_data_dir
def devnet_status(data_dir: Path | None) -> None:
    """Say whether a devnet runs on DATA_DIR, and what its compute node runs."""
    directory = data_dir or default_data_dir()
    running = daemon.find_devnet(directory)
    if running is None:
        click.echo(f"no devnet is running on {directory}")
        sys.exit(1)
    click.echo(f"devnet running at {running.url} (pid {running.pid}, data in {directory})")
    for line in daemon.describe_vms(running.url):
        click.echo(f"  {line}")


for _command in COMMANDS:
    cli.add_command(_command)


def main(args: Sequence[str] | None = None) -> None:
    """Entry point: run the CLI, turning every :class:`FishnetError` into one line and exit 1.

    ``args`` defaults to ``sys.argv[1:]``. Commands exit with their own codes (``plan
    --detailed-exitcode`` exits 2 on changes)."""
    try:
        cli.main(args=list(args) if args is not None else None, standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(1)
    except FishnetError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
