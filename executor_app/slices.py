"""Timeslices: which points, and which chunks, an executor computes on (DESIGN section 7.3).

A slice is half-open, ``[start, end)``, with ``None`` for an open end, so a point exactly on a
boundary belongs to exactly one slice (the one that starts there). An algorithm with a
``LOOKBACK`` sees ``[start - LOOKBACK, end)`` and its output rows before ``start`` are dropped, so
windowed computations equal the full-data computation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from fishnet_stack.timeutil import parse_instant

__all__ = ["Timeslice", "chunks_for", "lookback_of", "trim_to_slice"]


@dataclass(frozen=True)
class Timeslice:
    """``[start, end)`` in UTC; ``None`` is an open end."""

    start: datetime | None = None
    end: datetime | None = None

    @classmethod
    def parse(cls, start: str | None, end: str | None) -> Timeslice:
        """From ISO strings, ``""`` or None meaning open; raises ValueError."""
        return cls(parse_instant(start) if start else None, parse_instant(end) if end else None)

    def __post_init__(self) -> None:
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError(f"empty timeslice: end {self.end} is not after start {self.start}")

    def window(self, lookback: pd.Timedelta | None) -> Timeslice:
        """The slice extended backwards by ``lookback`` (what the algorithm must see)."""
        if lookback is None or self.start is None:
            return self
        return Timeslice(self.start - lookback.to_pytimedelta(), self.end)

    def contains(self, index: pd.DatetimeIndex) -> np.ndarray[Any, np.dtype[np.bool_]]:
        """Boolean mask of ``index`` points inside the slice."""
        mask = np.ones(len(index), dtype=bool)
        if self.start is not None:
            mask &= np.asarray(index >= pd.Timestamp(self.start))
        if self.end is not None:
            mask &= np.asarray(index < pd.Timestamp(self.end))
        return mask

    def overlaps(self, first: datetime, last: datetime) -> bool:
        """Whether a chunk holding points from ``first`` to ``last`` (inclusive) meets the slice."""
        if self.end is not None and first >= self.end:
            return False
        return not (self.start is not None and last < self.start)

    def as_json(self) -> dict[str, str | None]:
        return {"start": None if self.start is None else self.start.isoformat(),
                "end": None if self.end is None else self.end.isoformat()}


def lookback_of(code_lookback: Any) -> pd.Timedelta | None:
    """An algorithm's ``LOOKBACK`` (a pandas offset string such as ``"30D"``) as a Timedelta;
    raises ValueError with what is valid."""
    if code_lookback in (None, "", 0):
        return None
    try:
        delta = pd.Timedelta(pd.tseries.frequencies.to_offset(code_lookback))
    except (ValueError, TypeError) as exc:
        raise ValueError(
            f"LOOKBACK {code_lookback!r} is not a fixed pandas offset; use e.g. '30D' or '12h'"
        ) from exc
    if delta <= pd.Timedelta(0):
        raise ValueError(f"LOOKBACK {code_lookback!r} must be positive")
    return delta


def chunks_for(chunks: Iterable[Mapping[str, Any]], window: Timeslice) -> list[Mapping[str, Any]]:
    """The chunks (``{"start", "end", "rows", "hash"}``, inclusive first/last point times) that
    intersect ``window``, in time order."""
    chosen = [c for c in chunks
              if window.overlaps(parse_instant(c["start"]), parse_instant(c["end"]))]
    return sorted(chosen, key=lambda c: parse_instant(c["start"]))


def trim_to_slice(value: Any, timeslice: Timeslice) -> Any:
    """Drop rows of a time-indexed frame or series outside the slice (lookback rows included);
    other values pass through unchanged."""
    if isinstance(value, pd.DataFrame | pd.Series) and isinstance(value.index, pd.DatetimeIndex):
        return value[timeslice.contains(value.index)]
    return value
