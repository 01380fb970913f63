"""The one place that turns user-given times into UTC instants.

Rules (DESIGN section 6.2): ISO 8601 strings; a date alone means 00:00 UTC; a time without an
offset is UTC; numbers are Unix epochs, in seconds unless their magnitude says milliseconds,
microseconds or nanoseconds.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

__all__ = ["epoch_seconds", "format_utc", "parse_epoch", "parse_instant"]

# Epoch magnitudes: seconds until year ~5138, then ms, µs, ns.
_MS, _US, _NS = 1e11, 1e14, 1e17


def parse_instant(value: str | date | datetime | int | float) -> datetime:
    """A timezone-aware UTC datetime for ``value``; raises ValueError with what was wrong."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a time")
    if isinstance(value, int | float):
        return parse_epoch(value)
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    text = value.strip()
    if not text:
        raise ValueError("empty time")
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise ValueError(
            f"{value!r} is not an ISO 8601 time; use e.g. 2020-01-01 or 2020-01-01T12:00:00Z"
        ) from exc
    return parse_instant(parsed)


def parse_epoch(value: int | float) -> datetime:
    """A UTC datetime from a Unix epoch in s, ms, µs or ns (detected by magnitude)."""
    magnitude = abs(value)
    if magnitude >= _NS:
        seconds = value / 1e9
    elif magnitude >= _US:
        seconds = value / 1e6
    elif magnitude >= _MS:
        seconds = value / 1e3
    else:
        seconds = float(value)
    return datetime.fromtimestamp(seconds, UTC)


def epoch_seconds(instant: datetime) -> float:
    """Unix seconds of an aware datetime (naive means UTC)."""
    return parse_instant(instant).timestamp()


def format_utc(instant: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``: ``2020-01-01T00:00:00Z``."""
    return parse_instant(instant).strftime("%Y-%m-%dT%H:%M:%S") + (
        f".{instant.microsecond:06d}Z" if instant.microsecond else "Z"
    )
