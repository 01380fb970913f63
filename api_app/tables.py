"""Uploaded tables (CSV or Parquet) turned into timeseries, and series turned into stats/CSV.

A table has one time column (named ``timestamp``/``time``/``date``/... or else the first
column whose values all parse as times) and numeric value columns; each numeric column becomes
one timeseries. Times: ISO strings or numeric epochs in s/ms/µs/ns (by magnitude); naive = UTC.
"""

from __future__ import annotations

import io
import math

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from fishnet_stack.chunks import normalise
from fishnet_stack.errors import DataError
from fishnet_stack.timeutil import parse_epoch

__all__ = ["read_table", "series_stats", "table_columns", "to_csv"]

_TIME_NAMES = ("timestamp", "time", "date", "datetime", "unix", "ts")


def read_table(data: bytes, filename: str = "") -> pd.DataFrame:
    """A DataFrame of an uploaded CSV or Parquet file (Parquet detected by magic bytes).

    Raises :class:`DataError` when the bytes are neither.
    """
    if data[:4] == b"PAR1" or filename.endswith(".parquet"):
        try:
            return pq.read_table(io.BytesIO(data)).to_pandas()
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise DataError(f"not a readable Parquet file: {exc}") from exc
    try:
        return pd.read_csv(io.BytesIO(data))
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise DataError(f"not a readable CSV file: {exc}") from exc


def _as_times(column: pd.Series) -> pd.DatetimeIndex | None:
    if pd.api.types.is_datetime64_any_dtype(column):
        index = pd.DatetimeIndex(column)
        return index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
    if pd.api.types.is_numeric_dtype(column):
        try:
            return pd.DatetimeIndex([parse_epoch(float(v)) for v in column])
        except (ValueError, OverflowError, OSError):
            return None
    try:
        parsed = pd.to_datetime(column.astype(str), utc=True, format="mixed")
    except (ValueError, TypeError, OverflowError):
        return None
    return pd.DatetimeIndex(parsed)


def table_columns(frame: pd.DataFrame) -> dict[str, pd.Series]:
    """One normalised series per numeric column of ``frame``, keyed by column name.

    Raises :class:`DataError` when no time column or no numeric column is found.
    """
    if frame.empty or len(frame.columns) < 2:
        raise DataError("a table needs a time column and at least one value column")
    names = [str(c) for c in frame.columns]
    frame.columns = pd.Index(names)
    ordered = sorted(names, key=lambda n: (n.strip().lower() not in _TIME_NAMES, names.index(n)))
    time_column, index = None, None
    for name in ordered:
        index = _as_times(frame[name])
        if index is not None and not index.hasnans:
            time_column = name
            break
    if time_column is None or index is None:
        raise DataError("no time column found: name one 'timestamp' (ISO times or epochs)")
    result = {}
    for name in names:
        if name == time_column or not pd.api.types.is_numeric_dtype(frame[name]):
            continue
        values = pd.Series(frame[name].to_numpy(dtype="float64"), index=index).dropna()
        result[name] = normalise(values)
    if not result:
        raise DataError("no numeric value column found")
    return result


def series_stats(series: pd.Series) -> dict[str, float | int | None]:
    """count, min, max, avg, std, median of ``series`` (None where undefined)."""
    def clean(value: float) -> float | None:
        return None if value is None or math.isnan(value) else float(value)
    if series.empty:
        return {"count": 0, "min": None, "max": None, "avg": None, "std": None,
                "median": None}
    return {"count": int(len(series)), "min": clean(series.min()), "max": clean(series.max()),
            "avg": clean(series.mean()), "std": clean(series.std()),
            "median": clean(series.median())}


def to_csv(columns: dict[str, pd.Series]) -> str:
    """CSV with a ``timestamp`` column (ISO, UTC) and one column per series, one row per
    timestamp (outer join; empty cells where a series has no value)."""
    frame = pd.DataFrame(columns)
    frame.index.name = "timestamp"
    frame = frame.sort_index()
    frame.index = frame.index.strftime("%Y-%m-%dT%H:%M:%S%z") if len(frame) else frame.index
    return str(frame.to_csv())
