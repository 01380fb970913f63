"""What the compute node tells a VM process at launch: mounts, import path, entrypoint, fds."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["BOOTSTRAP", "RUNTIME_PACKAGE", "Mount", "VmSpec"]

# Name of this package inside a VM (the copy the compute node writes for it).
RUNTIME_PACKAGE = "fishnet_devnet_runtime"

# The ``-c`` program of ``python -I -S``: argv[1] is the directory holding the runtime package,
# argv[2] the VmSpec as JSON.
BOOTSTRAP = (
    "import sys; sys.path.append(sys.argv[1]); "
    f"from {RUNTIME_PACKAGE}.harness import main; sys.exit(main(sys.argv[2]))"
)


@dataclass(frozen=True)
class Mount:
    """Bind-mount ``source`` (a host directory) at ``target`` inside the VM."""

    source: str
    target: str
    read_only: bool


@dataclass(frozen=True)
class VmSpec:
    """Everything a VM process needs besides its environment variables.

    ``sys_path`` is prepended to the interpreter's path in order (code first, then packages).
    ``http_fd`` and ``events_fd`` are listening Unix sockets the compute node created and passed
    down; the harness writes one JSON line to ``ready_fd`` (``{"ready": true}`` or
    ``{"error": "..."}``) and closes it. ``parent_pid`` is the compute node's pid: the VM exits
    when that process goes away.
    """

    item_hash: str
    entrypoint: str
    mounts: tuple[Mount, ...]
    sys_path: tuple[str, ...]
    http_fd: int
    events_fd: int
    ready_fd: int
    parent_pid: int

    def dumps(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def loads(cls, text: str) -> VmSpec:
        """Parse :meth:`dumps` output; raises ValueError/KeyError/TypeError on anything else."""
        raw: dict[str, Any] = json.loads(text)
        return cls(
            item_hash=str(raw["item_hash"]),
            entrypoint=str(raw["entrypoint"]),
            mounts=tuple(
                Mount(str(m["source"]), str(m["target"]), bool(m["read_only"]))
                for m in raw["mounts"]
            ),
            sys_path=tuple(str(p) for p in raw["sys_path"]),
            http_fd=int(raw["http_fd"]),
            events_fd=int(raw["events_fd"]),
            ready_fd=int(raw["ready_fd"]),
            parent_pid=int(raw["parent_pid"]),
        )
