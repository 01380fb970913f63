"""Filters on declared indices, parsed and matched without I/O.

``field=value`` matches records whose field equals ``value`` (or, for a list field, contains
it); ``field__in=[a, b]`` matches any of the values. Several keys must all match. Only fields
of the class's declared ``indices`` may be used, so a typo is an error, not an empty result.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from fishnet_stack.errors import QueryError
from fishnet_stack.records.base import Record

__all__ = ["Condition", "matches", "parse_filter"]


@dataclass(frozen=True)
class Condition:
    """``field`` must hold (or, for lists, contain) one of ``values``."""

    field: str
    values: tuple[Any, ...]

    def accepts(self, value: Any) -> bool:
        if isinstance(value, list | tuple):
            return any(_plain(v) in self.values for v in value)
        return _plain(value) in self.values


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def parse_filter(record_type: type[Record], query: Mapping[str, Any]) -> list[Condition]:
    """The conditions of ``query`` on ``record_type``.

    Raises :class:`QueryError` when the query is empty, names a field outside the class's
    declared indices, or gives ``__in`` something other than a list, tuple or set.
    """
    if not query:
        raise QueryError(f"filter on {record_type.__name__} needs at least one condition")
    allowed = record_type.indexed_fields()
    conditions = []
    for key, value in query.items():
        name, many = (key[:-4], True) if key.endswith("__in") else (key, False)
        if name not in allowed:
            raise QueryError(
                f"{record_type.__name__} has no index on {name!r}; "
                f"indexed fields: {', '.join(sorted(allowed)) or 'none'}"
            )
        if many:
            if not isinstance(value, list | tuple | set | frozenset):
                raise QueryError(f"{key} needs a list of values, got {type(value).__name__}")
            values = tuple(_plain(v) for v in value)
        else:
            values = (_plain(value),)
        conditions.append(Condition(name, values))
    return conditions


def matches(record: Record, conditions: Iterable[Condition]) -> bool:
    """Whether ``record`` passes every condition (a missing field never matches)."""
    for condition in conditions:
        if condition.field not in type(record).model_fields and not (
            record.model_extra and condition.field in record.model_extra
        ):
            return False
        if not condition.accepts(getattr(record, condition.field, None)):
            return False
    return True
