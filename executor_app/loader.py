"""The DataFrame an algorithm sees on one slice (DESIGN section 7.3).

Only the chunks listed in the Execution's ``inputs`` (so a later upload does not change a
running execution) that intersect the slice's window ``[start - LOOKBACK, end)`` are fetched,
through the chunk store's local cache.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import pandas as pd

from executor_app.slices import Timeslice
from fishnet_stack.chunks import ChunkStore, normalise
from fishnet_stack.model import Execution, Input, Timeseries, inline_series

__all__ = ["column_names", "load_frame"]


def column_names(inputs: Sequence[Input], timeseries: dict[str, Timeseries]) -> list[str]:
    """One column name per input: the timeseries' name, suffixed with its id when two inputs
    share a name (or the id alone when the record is gone)."""
    names = [timeseries[i.timeseriesID].name if i.timeseriesID in timeseries else i.timeseriesID
             for i in inputs]
    repeated = {name for name, count in Counter(names).items() if count > 1}
    return [f"{name} ({i.timeseriesID})" if name in repeated else name
            for name, i in zip(names, inputs, strict=True)]


async def load_frame(execution: Execution, timeseries: dict[str, Timeseries],
                     window: Timeslice, chunks: ChunkStore) -> pd.DataFrame:
    """The wide frame (UTC DatetimeIndex, one float64 column per input) of ``window``.

    Raises :class:`~fishnet_stack.chunks.DataError` when a listed chunk cannot be fetched.
    """
    start = None if window.start is None else window.start.timestamp()
    end = None if window.end is None else window.end.timestamp()
    columns = {}
    for name, item in zip(column_names(execution.inputs, timeseries), execution.inputs,
                          strict=True):
        if item.inline and item.timeseriesID in timeseries:
            series = inline_series(timeseries[item.timeseriesID])
            series = normalise([]) if series is None else series
            series = series[window.contains(series.index)]
        else:
            series = await chunks.read(item.chunks, start, end)
        columns[name] = series.astype("float64")
    frame = pd.DataFrame(columns)
    if not isinstance(frame.index, pd.DatetimeIndex):
        frame.index = pd.DatetimeIndex(frame.index, tz="UTC")
    return frame.sort_index()
