"""What the compute node needs from the node: live PROGRAM messages and the files they reference."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

__all__ = ["ProgramSource"]


class ProgramSource(Protocol):
    """Read-only view of the node's state, as the compute node sees it.

    All methods are cheap local reads (SQLite and the file directory); none blocks on the network.
    """

    def get_program(self, item_hash: str) -> dict[str, Any] | None:
        """The ``content`` of the PROGRAM message ``item_hash`` if it is processed and not
        forgotten, else None."""
        ...

    def live_programs(self) -> list[tuple[str, dict[str, Any]]]:
        """``(item_hash, content)`` of every processed, not forgotten PROGRAM message."""
        ...

    def store_file(self, ref: str, use_latest: bool) -> Path | None:
        """Path of the file that the STORE message ``ref`` references (with ``use_latest``, the
        file of the newest STORE whose ``content.ref`` amends ``ref``), or None when the STORE or
        its file is unknown or forgotten. The file must not be modified by the caller."""
        ...
