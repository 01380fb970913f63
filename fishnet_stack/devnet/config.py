"""Settings of one devnet: where it listens, where it keeps its data, how it misbehaves."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from fishnet_stack.errors import ConfigError

__all__ = ["DEFAULT_DATA_DIR", "DEFAULT_PORT", "DevnetConfig", "default_data_dir", "default_port"]

DEFAULT_PORT = 4024
DEFAULT_DATA_DIR = Path(".fishnet/devnet")


def default_port() -> int:
    """``FISHNET_DEVNET_PORT`` when set, else 4024."""
    raw = os.environ.get("FISHNET_DEVNET_PORT", "")
    if not raw:
        return DEFAULT_PORT
    try:
        port = int(raw)
    except ValueError as exc:
        raise ConfigError(
            f"FISHNET_DEVNET_PORT={raw!r} is not a port number; set it to an integer 1-65535"
        ) from exc
    if not 0 < port < 65536:
        raise ConfigError(f"FISHNET_DEVNET_PORT={port} is out of range; use 1-65535")
    return port


def default_data_dir() -> Path:
    """``FISHNET_DEVNET_DIR`` when set, else ``.fishnet/devnet`` under the current directory."""
    raw = os.environ.get("FISHNET_DEVNET_DIR", "")
    return Path(raw) if raw else DEFAULT_DATA_DIR


def _default_crn_memory() -> int:
    """Most of the machine's memory, in MiB (what a compute node would offer)."""
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return 8192
    return max(1024, int(pages * 0.8) // (1024 * 1024))


@dataclass(frozen=True)
class DevnetConfig:
    """One devnet node (and its compute node).

    ``fail_rate`` is the fraction of write requests answered with HTTP 500 (fault tests);
    ``compute`` false runs the node without the compute node.
    """

    host: str = "127.0.0.1"
    port: int = field(default_factory=default_port)
    data_dir: Path = field(default_factory=default_data_dir)
    fail_rate: float = 0.0
    compute: bool = True
    crn_memory_mib: int = field(default_factory=_default_crn_memory)
    # Seconds without traffic before a non-persistent VM is stopped.
    vm_idle_timeout: float = 60.0
    # Largest request body accepted, in bytes (files included).
    max_body_bytes: int = 256 * 1024 * 1024

    def __post_init__(self) -> None:
        if not 0.0 <= self.fail_rate < 1.0:
            raise ConfigError(f"--fail-rate {self.fail_rate} is out of range; use 0 <= R < 1")

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"
