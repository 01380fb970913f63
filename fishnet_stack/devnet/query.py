"""Filters of ``messages.json``, ``posts.json`` and ``ws0``, parsed from query parameters the way
pyaleph reads them (comma-separated lists, camelCase names), turned into SQL and into a predicate
for streamed messages."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["BadQuery", "MessageQuery", "Page", "parse_page"]

_LISTS = {
    # parameter: (column, how to compare)
    "hashes": "item_hash",
    "addresses": "sender",
    "owners": "owner",
    "refs": "ref",
    "channels": "channel",
    "chains": "chain",
    "contentTypes": "content_type",
    "contentKeys": "content_key",
    "contentHashes": "content_item_hash",
}
_MESSAGE_TYPES = {"POST", "AGGREGATE", "STORE", "PROGRAM", "INSTANCE", "FORGET"}


class BadQuery(ValueError):
    """A query parameter is malformed; the message says which and what is valid."""


def _split(value: str) -> list[str]:
    return [v for v in (s.strip() for s in value.split(",")) if v]


def _number(params: Mapping[str, str], name: str, default: float) -> float:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise BadQuery(f"{name}={raw!r} is not a number; give a unix timestamp") from exc
    if value < 0:
        raise BadQuery(f"{name} must be >= 0")
    return value


@dataclass(frozen=True)
class Page:
    """``page`` (from 1) and ``pagination`` (page size, 0 = everything)."""

    page: int = 1
    size: int = 20

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size


def parse_page(params: Mapping[str, str], default_size: int = 20) -> Page:
    def integer(name: str, default: int, minimum: int) -> int:
        raw = params.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError as exc:
            raise BadQuery(f"{name}={raw!r} is not an integer") from exc
        if value < minimum:
            raise BadQuery(f"{name} must be >= {minimum}, got {value}")
        return value

    return Page(page=integer("page", 1, 1), size=integer("pagination", default_size, 0))


@dataclass(frozen=True)
class MessageQuery:
    """A conjunction of filters over messages; each list filter accepts any of its values."""

    lists: dict[str, list[str]] = field(default_factory=dict)
    types: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    start: float = 0.0
    end: float = 0.0
    descending: bool = True

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> MessageQuery:
        """Parse pyaleph's query parameters; raises :class:`BadQuery`."""
        lists = {name: _split(params[name]) for name in _LISTS if params.get(name)}
        raw_types = params.get("msgTypes") or params.get("msgType") or ""
        types = [t.upper() for t in _split(raw_types)]
        unknown = [t for t in types if t not in _MESSAGE_TYPES]
        if unknown:
            raise BadQuery(
                f"msgTypes: unknown type {unknown[0]!r}; valid: {', '.join(sorted(_MESSAGE_TYPES))}"
            )
        start, end = _number(params, "startDate", 0.0), _number(params, "endDate", 0.0)
        if start and end and end < start:
            raise BadQuery("endDate cannot be lower than startDate")
        sort_by = params.get("sortBy", "time")
        if sort_by not in ("time", "tx-time"):
            raise BadQuery(f"sortBy={sort_by!r}; valid: time, tx-time")
        order = params.get("sortOrder", "-1")
        if order not in ("-1", "1"):
            raise BadQuery(f"sortOrder={order!r}; valid: -1 (newest first), 1 (oldest first)")
        return cls(
            lists=lists, types=types, tags=_split(params.get("tags", "")),
            start=start, end=end, descending=order == "-1",
        )

    def sql(self) -> tuple[str, list[Any]]:
        """A WHERE clause over live (processed) messages, and its parameters."""
        clauses: list[str] = ["status = 'processed'"]
        params: list[Any] = []
        for name, values in self.lists.items():
            column = _LISTS[name]
            clauses.append(f"{column} IN ({','.join('?' * len(values))})")
            params.extend(values)
        if self.types:
            clauses.append(f"type IN ({','.join('?' * len(self.types))})")
            params.extend(self.types)
        if self.tags:
            clauses.append(
                "EXISTS (SELECT 1 FROM json_each(messages.tags) WHERE json_each.value IN "
                f"({','.join('?' * len(self.tags))}))"
            )
            params.extend(self.tags)
        if self.start:
            clauses.append("time >= ?")
            params.append(self.start)
        if self.end:
            clauses.append("time < ?")
            params.append(self.end)
        return " AND ".join(clauses), params

    @property
    def order(self) -> str:
        return "time DESC, seq DESC" if self.descending else "time ASC, seq ASC"

    def matches(self, row: Any) -> bool:
        """Whether a stored message row passes every filter (for streamed messages)."""
        for name, values in self.lists.items():
            if row[_LISTS[name]] not in values:
                return False
        if self.types and row["type"] not in self.types:
            return False
        if self.tags:
            tags = json.loads(row["tags"] or "[]")
            if not any(t in self.tags for t in tags):
                return False
        if self.start and row["time"] < self.start:
            return False
        return not (self.end and row["time"] >= self.end)
