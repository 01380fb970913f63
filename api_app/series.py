"""Timeseries values: creating and appending (chunks + stats), and reading them back.

All chunk I/O goes through :class:`fishnet_stack.chunks.ChunkStore`; old records with inline
``data`` are read from the record itself.
"""

from __future__ import annotations

import pandas as pd

from api_app.state import ApiState
from api_app.tables import series_stats
from fishnet_stack.chunks import merge, normalise
from fishnet_stack.model import Timeseries, inline_series

__all__ = ["load_series", "store_series"]


async def load_series(state: ApiState, ts: Timeseries, start: float | None = None,
                      end: float | None = None) -> pd.Series:
    """The values of ``ts`` in ``[start, end)`` (None: open); raises DataError when a chunk
    cannot be read."""
    legacy = inline_series(ts)
    if legacy is not None:
        stamps = legacy.index.asi8 / 1e9
        mask = pd.Series(True, index=legacy.index).to_numpy().copy()
        if start is not None:
            mask &= stamps >= start
        if end is not None:
            mask &= stamps < end
        return legacy[mask]
    return await state.chunks.read(ts.chunks, start, end)


async def store_series(state: ApiState, ts: Timeseries, points: pd.Series) -> Timeseries:
    """``ts`` with ``points`` stored: new chunks for a new record, or an append (new range
    only; a point at an existing timestamp replaces it). Stats are recomputed. The record is
    not saved here."""
    legacy = inline_series(ts)
    if legacy is not None:  # an old inline record moves to chunks on its first append
        ts.chunks = await state.chunks.write(merge(legacy, points))
        ts.data = None
    elif ts.chunks:
        ts.chunks = await state.chunks.append(ts.chunks, points)
    elif not points.empty:
        ts.chunks = await state.chunks.write(normalise(points))
    full = await state.chunks.read(ts.chunks)
    for name, value in series_stats(full).items():
        setattr(ts, name, value)
    return ts
