"""The devnet node's persistent state: SQLite (WAL) for messages and aggregates, a directory of
content-addressed files.

Every write commits before it returns, so a node killed at any point and restarted on the same
directory loses nothing it answered for. Only the node's event loop touches a :class:`NodeStore`
(one thread), which makes each message's processing atomic without further locking.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["FileStore", "NodeStore", "StoredMessage"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    item_hash TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    chain TEXT NOT NULL,
    sender TEXT NOT NULL,
    owner TEXT NOT NULL,
    channel TEXT,
    time REAL NOT NULL,
    item_type TEXT NOT NULL,
    item_content TEXT,
    signature TEXT,
    size INTEGER NOT NULL,
    content TEXT,
    ref TEXT,
    content_type TEXT,
    content_key TEXT,
    content_item_hash TEXT,
    content_time REAL,
    tags TEXT,
    status TEXT NOT NULL,
    forgotten_by TEXT,
    reception_time REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_time ON messages (status, time);
CREATE INDEX IF NOT EXISTS messages_sender ON messages (sender);
CREATE INDEX IF NOT EXISTS messages_owner ON messages (owner);
CREATE INDEX IF NOT EXISTS messages_channel ON messages (channel, type);
CREATE INDEX IF NOT EXISTS messages_ref ON messages (ref);
CREATE INDEX IF NOT EXISTS messages_content_item_hash ON messages (content_item_hash);
CREATE TABLE IF NOT EXISTS rejected (
    item_hash TEXT PRIMARY KEY,
    message TEXT NOT NULL,
    error_code INTEGER NOT NULL,
    details TEXT NOT NULL,
    reception_time REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS pending (
    item_hash TEXT PRIMARY KEY,
    message TEXT NOT NULL,
    reason TEXT NOT NULL,
    reception_time REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS aggregates (
    owner TEXT NOT NULL,
    key TEXT NOT NULL,
    content TEXT NOT NULL,
    PRIMARY KEY (owner, key)
);
"""


class FileStore:
    """Content-addressed files: ``<root>/<hash[:2]>/<hash>``, written atomically."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def path(self, file_hash: str) -> Path:
        return self.root / file_hash[:2] / file_hash

    def exists(self, file_hash: str) -> bool:
        return _is_hash(file_hash) and self.path(file_hash).is_file()

    def get(self, file_hash: str) -> bytes | None:
        if not _is_hash(file_hash):
            return None
        try:
            return self.path(file_hash).read_bytes()
        except OSError:
            return None

    def put(self, data: bytes) -> str:
        """Store ``data``; returns its sha256 hex. Idempotent."""
        file_hash = hashlib.sha256(data).hexdigest()
        target = self.path(file_hash)
        if target.is_file():
            return file_hash
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
        return file_hash

    def delete(self, file_hash: str) -> None:
        if _is_hash(file_hash):
            self.path(file_hash).unlink(missing_ok=True)


def _is_hash(value: str) -> bool:
    return len(value) == 64 and all(c in "0123456789abcdef" for c in value)


class StoredMessage:
    """One row of ``messages``, with the message in pyaleph's API shape (:meth:`to_api`)."""

    __slots__ = ("row",)

    def __init__(self, row: sqlite3.Row) -> None:
        self.row = row

    def __getitem__(self, key: str) -> Any:
        return self.row[key]

    @property
    def content(self) -> dict[str, Any]:
        raw = self.row["content"]
        return json.loads(raw) if raw else {}

    def to_api(self) -> dict[str, Any]:
        """The message as ``messages.json`` and ws0 give it (parsable by aleph-message)."""
        row = self.row
        forgotten = row["status"] == "forgotten"
        message: dict[str, Any] = {
            "chain": row["chain"],
            "sender": row["sender"],
            "type": row["type"],
            "channel": row["channel"],
            "confirmations": [],
            "confirmed": False,
            "signature": row["signature"],
            "size": row["size"],
            "time": row["time"],
            "item_type": row["item_type"],
            "item_content": None if forgotten else row["item_content"],
            "item_hash": row["item_hash"],
            "content": None if forgotten else self.content,
        }
        if forgotten:
            message["forgotten_by"] = json.loads(row["forgotten_by"] or "[]")
        return message


class NodeStore:
    """The node's database. Methods commit their writes before returning."""

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.files = FileStore(data_dir / "files")
        self.db = sqlite3.connect(data_dir / "node.sqlite3", isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)
        row = self.db.execute("SELECT COALESCE(MAX(seq), 0) FROM messages").fetchone()
        self._seq = int(row[0])

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside commit together or not at all."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # -- messages ---------------------------------------------------------------------------

    def get(self, item_hash: str) -> StoredMessage | None:
        """The message (processed or forgotten) with this hash, or None."""
        row = self.db.execute("SELECT * FROM messages WHERE item_hash = ?", (item_hash,)).fetchone()
        return StoredMessage(row) if row else None

    def get_processed(self, item_hash: str) -> StoredMessage | None:
        found = self.get(item_hash)
        return found if found is not None and found["status"] == "processed" else None

    def insert(self, message: dict[str, Any], content: dict[str, Any], size: int) -> None:
        """Record ``message`` (the 9 wire fields) as processed, with its parsed ``content``."""
        self._seq += 1
        tags = _tags_of(message["type"], content)
        key = content.get("key")
        self.db.execute(
            "INSERT INTO messages VALUES "
            "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,'processed',NULL,?)",
            (
                message["item_hash"], self._seq, message["type"], message["chain"],
                message["sender"], str(content.get("address", "")), message.get("channel"),
                float(message["time"]), message["item_type"], message.get("item_content"),
                message.get("signature"), size, json.dumps(content, separators=(",", ":")),
                _str_or_none(content.get("ref")),
                content.get("type") if isinstance(content.get("type"), str) else None,
                key.get("name") if isinstance(key, dict) else _str_or_none(key),
                _str_or_none(content.get("item_hash")),
                _float_or_none(content.get("time")),
                json.dumps(tags) if tags else None,
                time.time(),
            ),
        )
        self.db.execute("DELETE FROM rejected WHERE item_hash = ?", (message["item_hash"],))
        self.db.execute("DELETE FROM pending WHERE item_hash = ?", (message["item_hash"],))

    def mark_forgotten(self, item_hash: str, forget_hash: str) -> None:
        row = self.db.execute(
            "SELECT forgotten_by FROM messages WHERE item_hash = ?", (item_hash,)
        ).fetchone()
        by = json.loads(row[0] or "[]") if row else []
        by.append(forget_hash)
        self.db.execute(
            "UPDATE messages SET status = 'forgotten', content = NULL, item_content = NULL, "
            "forgotten_by = ? WHERE item_hash = ?",
            (json.dumps(by), item_hash),
        )

    def query(self, where: str, params: Sequence[Any], order: str, limit: int, offset: int,
              ) -> list[StoredMessage]:
        sql = f"SELECT * FROM messages WHERE {where} ORDER BY {order}"
        if limit:
            sql += f" LIMIT {int(limit)} OFFSET {int(offset)}"
        return [StoredMessage(r) for r in self.db.execute(sql, params)]

    def count(self, where: str, params: Sequence[Any]) -> int:
        return int(self.db.execute(f"SELECT COUNT(*) FROM messages WHERE {where}", params)
                   .fetchone()[0])

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        return list(self.db.execute(sql, params))

    # -- rejected and pending ---------------------------------------------------------------

    def reject(self, message: dict[str, Any], error_code: int, details: dict[str, Any]) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO rejected VALUES (?,?,?,?,?)",
            (message["item_hash"], json.dumps(message), error_code, json.dumps(details),
             time.time()),
        )
        self.db.execute("DELETE FROM pending WHERE item_hash = ?", (message["item_hash"],))

    def get_rejected(self, item_hash: str) -> sqlite3.Row | None:
        return self._one("SELECT * FROM rejected WHERE item_hash = ?", item_hash)

    def _one(self, sql: str, *params: Any) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self.db.execute(sql, params).fetchone()
        return row

    def add_pending(self, message: dict[str, Any], reason: str) -> None:
        self.db.execute(
            "INSERT OR IGNORE INTO pending VALUES (?,?,?,?)",
            (message["item_hash"], json.dumps(message), reason, time.time()),
        )

    def get_pending(self, item_hash: str) -> sqlite3.Row | None:
        return self._one("SELECT * FROM pending WHERE item_hash = ?", item_hash)

    def all_pending(self) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT message FROM pending ORDER BY reception_time")
        return [json.loads(r[0]) for r in rows]

    # -- aggregates -------------------------------------------------------------------------

    def aggregate(self, owner: str, key: str) -> dict[str, Any] | None:
        row = self.db.execute(
            "SELECT content FROM aggregates WHERE owner = ? AND key = ?", (owner, key)
        ).fetchone()
        return json.loads(row[0]) if row else None

    def aggregates(self, owner: str, keys: Sequence[str] | None) -> dict[str, Any]:
        sql, params = "SELECT key, content FROM aggregates WHERE owner = ?", [owner]
        if keys:
            sql += f" AND key IN ({','.join('?' * len(keys))})"
            params.extend(keys)
        return {r[0]: json.loads(r[1]) for r in self.db.execute(sql + " ORDER BY key", params)}

    def rebuild_aggregate(self, owner: str, key: str) -> None:
        """Merge every live element of ``(owner, key)`` in content-time order, top-level keys of
        later elements replacing earlier ones (pyaleph's rule)."""
        merged: dict[str, Any] = {}
        for row in self.db.execute(
            "SELECT content FROM messages WHERE status = 'processed' AND type = 'AGGREGATE' "
            "AND owner = ? AND content_key = ? ORDER BY content_time, seq",
            (owner, key),
        ):
            body = json.loads(row[0]).get("content")
            if isinstance(body, dict):
                merged.update(body)
        if merged:
            self.db.execute(
                "INSERT OR REPLACE INTO aggregates VALUES (?,?,?)",
                (owner, key, json.dumps(merged)),
            )
        else:
            self.db.execute("DELETE FROM aggregates WHERE owner = ? AND key = ?", (owner, key))


def _tags_of(message_type: str, content: dict[str, Any]) -> list[str]:
    """Tags a message is found by: POST ``content.content.tags``, STORE ``content.tags``,
    PROGRAM/INSTANCE ``content.metadata.tags``."""
    candidates: Any = None
    if message_type == "POST" and isinstance(content.get("content"), dict):
        candidates = content["content"].get("tags")
    elif message_type == "STORE":
        candidates = content.get("tags")
    elif isinstance(content.get("metadata"), dict):
        candidates = content["metadata"].get("tags")
    if not isinstance(candidates, list):
        return []
    return [t for t in candidates if isinstance(t, str)]


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _float_or_none(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
