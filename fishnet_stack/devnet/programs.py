"""The node's side of the compute node's :class:`ProgramSource`: programs and files from SQLite."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fishnet_stack.devnet.store import NodeStore

__all__ = ["StoreProgramSource"]


class StoreProgramSource:
    """Reads live PROGRAM messages and STORE files out of a :class:`NodeStore`."""

    def __init__(self, store: NodeStore) -> None:
        self.store = store

    def get_program(self, item_hash: str) -> dict[str, Any] | None:
        found = self.store.get_processed(item_hash)
        if found is None or found["type"] != "PROGRAM":
            return None
        return found.content

    def live_programs(self) -> list[tuple[str, dict[str, Any]]]:
        rows = self.store.rows(
            "SELECT item_hash, content FROM messages WHERE status = 'processed' "
            "AND type = 'PROGRAM' ORDER BY seq"
        )
        return [(r["item_hash"], json.loads(r["content"])) for r in rows]

    def store_file(self, ref: str, use_latest: bool) -> Path | None:
        store = self.store.get_processed(ref)
        if store is None or store["type"] != "STORE":
            return None
        if use_latest:
            newer = self.store.rows(
                "SELECT content_item_hash FROM messages WHERE status = 'processed' "
                "AND type = 'STORE' AND ref = ? AND owner = ? ORDER BY content_time DESC, "
                "seq DESC LIMIT 1",
                (ref, store["owner"]),
            )
            file_hash = newer[0][0] if newer else store["content_item_hash"]
        else:
            file_hash = store["content_item_hash"]
        if not file_hash or not self.store.files.exists(file_hash):
            return None
        return self.store.files.path(file_hash)
