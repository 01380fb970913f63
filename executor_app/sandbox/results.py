"""Values that cross the sandbox boundary: algorithm results and partials, as bytes.

Frames and series travel as Parquet (index kept), everything else as JSON; nothing is ever
unpickled, so a hostile child cannot make its parent run code.
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.ipc  # noqa: F401  (pa.ipc)

__all__ = ["Payload", "decode", "encode", "encode_input"]

_SERIES_COLUMN = "__series__"


@dataclass(frozen=True)
class Payload:
    """``kind`` is ``dataframe``, ``series``, ``scalar`` or ``json``; ``data`` its bytes."""

    kind: str
    data: bytes


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def encode(value: Any) -> Payload:
    """Serialise an algorithm's return value; raises TypeError for unsupported types."""
    if isinstance(value, pd.DataFrame):
        frame = value.copy()
        frame.columns = [str(c) for c in frame.columns]
        buffer = io.BytesIO()
        frame.to_parquet(buffer)
        return Payload("dataframe", buffer.getvalue())
    if isinstance(value, pd.Series):
        frame = value.to_frame(_SERIES_COLUMN)
        frame.attrs["name"] = None if value.name is None else str(value.name)
        buffer = io.BytesIO()
        frame.to_parquet(buffer)
        return Payload("series", buffer.getvalue())
    if value is None or isinstance(value, bool | int | float | str | np.generic):
        return Payload("scalar", json.dumps(value, default=_jsonable).encode())
    if isinstance(value, dict | list | tuple):
        return Payload("json", json.dumps(value, default=_jsonable).encode())
    raise TypeError(
        f"run()/aggregate() returned {type(value).__name__}; return a DataFrame, a Series, "
        "a scalar or a JSON-serialisable dict or list"
    )


def encode_input(frame: pd.DataFrame) -> Payload:
    """A frame for the sandbox's input: Arrow IPC, uncompressed (several times faster to write
    and read than Parquet; it never leaves the machine)."""
    table = pa.Table.from_pandas(frame, preserve_index=True)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return Payload("arrow", sink.getvalue().to_pybytes())


def decode(payload: Payload) -> Any:
    """The value back from its bytes."""
    if payload.kind == "arrow":
        return pa.ipc.open_stream(payload.data).read_all().to_pandas()
    if payload.kind == "dataframe":
        return pd.read_parquet(io.BytesIO(payload.data))
    if payload.kind == "series":
        frame = pd.read_parquet(io.BytesIO(payload.data))
        series = frame[_SERIES_COLUMN]
        series.name = frame.attrs.get("name")
        return series
    if payload.kind in ("scalar", "json"):
        return json.loads(payload.data)
    raise ValueError(f"unknown payload kind {payload.kind!r}")
