"""The API's local index of the channel's records: SQLite, in memory, rebuilt at every start.

Only trusted revisions enter it (DESIGN section 6.3 and 9): ``content.address`` must be the
stack owner and the sender the owner or one of its delegates (addresses authorised in the
owner's ``security`` aggregate, passed in by the caller). Amends and forgets are applied as
they arrive; the current state of a record is recomputed from its stored revisions, so the
order in which messages arrive does not matter.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from enum import Enum
from typing import Any, TypeVar

from pydantic import ValidationError

from fishnet_stack.model import RECORD_TYPES
from fishnet_stack.records import Record, wire

__all__ = ["RecordIndex"]

R = TypeVar("R", bound=Record)

_SCHEMA = """
CREATE TABLE revisions (item_hash TEXT PRIMARY KEY, record_id TEXT NOT NULL,
    post_type TEXT NOT NULL, sender TEXT NOT NULL, time REAL NOT NULL, fields TEXT NOT NULL,
    sig TEXT);
CREATE INDEX revisions_record ON revisions (record_id);
CREATE INDEX revisions_sig ON revisions (sig);
CREATE TABLE records (id TEXT PRIMARY KEY, type TEXT NOT NULL, created REAL NOT NULL,
    body TEXT NOT NULL);
CREATE INDEX records_type ON records (type, created);
CREATE TABLE keys (id TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL);
CREATE INDEX keys_lookup ON keys (name, value, id);
CREATE INDEX keys_id ON keys (id);
"""


def _key_values(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return [str(v.value if isinstance(v, Enum) else v).lower() for v in items if v is not None]


def _revision_row(revision: wire.Revision) -> tuple[Any, ...]:
    sig = revision.fields.get("signatureHash")
    return (revision.item_hash, revision.record_id, revision.post_type, revision.sender,
            revision.time, json.dumps(revision.fields), sig if isinstance(sig, str) else None)


def _build(record_id: str, revisions: list[wire.Revision],
           ) -> tuple[tuple[Any, ...], list[tuple[str, str, str]]] | None:
    """The ``records`` row and ``keys`` rows of a record from its revisions; None when its
    original is missing (amends waiting), its type unknown, or its content invalid."""
    original = next((r for r in revisions if r.item_hash == record_id), None)
    cls = RECORD_TYPES.get(original.post_type) if original is not None else None
    if original is None or cls is None:
        return None
    try:
        record = cls.from_revisions(wire.ordered(original, [r for r in revisions if r.is_amend]))
    except ValidationError:
        return None
    keys = [(record_id, name, value) for name in cls.indexed_fields()
            for value in _key_values(getattr(record, name, None))]
    return (record_id, original.post_type, original.time, record.model_dump_json()), keys


class RecordIndex:
    """Current records of one owner, queryable by type and by declared index fields."""

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self.delegates: set[str] = set()
        self._hashes: set[str] = set()  # revisions indexed
        self._records: set[str] = set()  # record ids that have (or had) revisions
        self.db = sqlite3.connect(":memory:", check_same_thread=False)
        self.db.executescript(_SCHEMA)

    def trusted(self, revision: wire.Revision) -> bool:
        """Whether ``revision`` may be indexed (owner's record, sent by owner or delegate)."""
        if revision.address.lower() != self.owner.lower():
            return False
        sender = revision.sender.lower()
        return sender == self.owner.lower() or sender in self.delegates

    # -- updates -----------------------------------------------------------------------------

    def apply(self, message: Mapping[str, Any]) -> bool:
        """Apply one message (POST or FORGET, as ``messages.json``/ws0 give it).

        Returns False when the message was ignored: not a record, untrusted, or already known.
        """
        if message.get("type") == "FORGET":
            content = message.get("content")
            hashes = content.get("hashes") if isinstance(content, Mapping) else None
            return self.forget([h for h in hashes or [] if isinstance(h, str)])
        revision = wire.parse_revision(message)
        if revision is None or not self.trusted(revision):
            return False
        with self.db:
            cursor = self.db.execute(
                "INSERT OR IGNORE INTO revisions VALUES (?, ?, ?, ?, ?, ?, ?)",
                _revision_row(revision))
            if cursor.rowcount == 0:
                return False
            self._hashes.add(revision.item_hash)
            self._records.add(revision.record_id)
            self._recompute(revision.record_id)
        return True

    def apply_all(self, messages: Iterable[Mapping[str, Any]]) -> int:
        """Apply many messages; returns how many changed the index."""
        return sum(self.apply(m) for m in messages)

    def load(self, messages: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        """Apply many record POSTs in bulk (the start-up build): revisions already indexed
        are skipped, and each touched record is rebuilt once, in one transaction. Returns
        the owner's records skipped because their sender is not a known delegate, for the
        caller to retry after refreshing the delegates."""
        known = self._hashes
        fresh: dict[str, list[wire.Revision]] = {}
        stale: set[str] = set()  # records that had revisions before this batch
        unknown = []
        for message in messages:
            revision = wire.parse_revision(message)
            if revision is None or revision.item_hash in known:
                continue
            if not self.trusted(revision):
                if revision.address.lower() == self.owner.lower():
                    unknown.append(message)
                continue
            if revision.record_id in self._records:
                stale.add(revision.record_id)
            known.add(revision.item_hash)
            fresh.setdefault(revision.record_id, []).append(revision)
        with self.db:
            self.db.executemany("INSERT INTO revisions VALUES (?, ?, ?, ?, ?, ?, ?)",
                                [_revision_row(r) for group in fresh.values() for r in group])
            records, keys = [], []
            for record_id, group in fresh.items():
                revisions = self._stored(record_id) if record_id in stale else group
                built = _build(record_id, revisions)
                if built is not None:
                    records.append(built[0])
                    keys += built[1]
            self._records |= fresh.keys()
            ids = [(i,) for i in stale]
            self.db.executemany("DELETE FROM records WHERE id = ?", ids)
            self.db.executemany("DELETE FROM keys WHERE id = ?", ids)
            self.db.executemany("INSERT INTO records VALUES (?, ?, ?, ?)", records)
            self.db.executemany("INSERT INTO keys VALUES (?, ?, ?)", keys)
        return unknown

    def forget(self, hashes: list[str]) -> bool:
        """Remove forgotten revisions (forgetting an original removes the whole record)."""
        if not hashes:
            return False
        marks = ",".join("?" * len(hashes))
        with self.db:
            touched = {row[0] for row in self.db.execute(
                f"SELECT record_id FROM revisions WHERE item_hash IN ({marks})", hashes)}
            if not touched:
                return False
            self.db.execute(f"DELETE FROM revisions WHERE item_hash IN ({marks})", hashes)
            self._hashes -= set(hashes)
            for record_id in touched:
                self._recompute(record_id)
        return True

    def _stored(self, record_id: str) -> list[wire.Revision]:
        rows = self.db.execute(
            "SELECT item_hash, post_type, sender, time, fields FROM revisions "
            "WHERE record_id = ?", (record_id,)).fetchall()
        return [wire.Revision(item_hash=h, record_id=record_id, post_type=t, sender=s,
                              time=tm, fields=json.loads(f), address=self.owner,
                              channel=None, ref=None if h == record_id else record_id)
                for h, t, s, tm, f in rows]

    def _recompute(self, record_id: str) -> None:
        built = _build(record_id, self._stored(record_id))
        self.db.execute("DELETE FROM records WHERE id = ?", (record_id,))
        self.db.execute("DELETE FROM keys WHERE id = ?", (record_id,))
        if built is not None:
            self.db.execute("INSERT INTO records VALUES (?, ?, ?, ?)", built[0])
            self.db.executemany("INSERT INTO keys VALUES (?, ?, ?)", built[1])

    # -- reads -------------------------------------------------------------------------------

    def signature_used(self, sig: str) -> bool:
        """Whether a revision written for this request signature hash is indexed."""
        return self.db.execute("SELECT 1 FROM revisions WHERE sig = ? LIMIT 1",
                               (sig,)).fetchone() is not None

    def get(self, cls: type[R], record_id: str) -> R | None:
        row = self.db.execute("SELECT body FROM records WHERE id = ? AND type = ?",
                              (record_id, cls.post_type())).fetchone()
        return cls.model_validate_json(row[0]) if row else None

    def get_many(self, cls: type[R], ids: Iterable[str]) -> list[R]:
        """The records among ``ids`` that exist, in the order given."""
        found = [self.get(cls, i) for i in ids]
        return [r for r in found if r is not None]

    def bodies(self, cls: type[Record], filters: Mapping[str, str | None] | None = None,
               limit: int = -1, offset: int = 0) -> list[str]:
        """JSON of the ``cls`` records matching ``filters`` (case-insensitive equality on
        indexed fields, membership for list fields; None values are skipped), newest first."""
        sql, args = self._where(cls, filters)
        rows = self.db.execute(f"SELECT body FROM records r WHERE {sql} "
                               "ORDER BY created DESC, id LIMIT ? OFFSET ?",
                               (*args, limit, offset))
        return [row[0] for row in rows]

    def find(self, cls: type[R], **filters: str | None) -> list[R]:
        """The ``cls`` records matching ``filters`` (see :meth:`bodies`), newest first."""
        return [cls.model_validate_json(b) for b in self.bodies(cls, filters)]

    def count(self, cls: type[Record], **filters: str | None) -> int:
        sql, args = self._where(cls, filters)
        return int(self.db.execute(f"SELECT COUNT(*) FROM records r WHERE {sql}",
                                   args).fetchone()[0])

    def _where(self, cls: type[Record], filters: Mapping[str, str | None] | None,
               ) -> tuple[str, list[Any]]:
        clauses, args = ["r.type = ?"], [cls.post_type()]
        for name, value in (filters or {}).items():
            if value is None:
                continue
            if name not in cls.indexed_fields():
                raise KeyError(f"{cls.__name__} has no index on {name}")
            clauses.append("r.id IN (SELECT id FROM keys WHERE name = ? AND value = ?)")
            args += [name, str(value).lower()]
        return " AND ".join(clauses), args
