"""Timeseries values as Parquet chunks (DESIGN section 6.2): the ONE module that reads and writes
them, so that encryption (section 13) slots in at :func:`encode` / :func:`decode`.

A chunk holds one timeseries: columns ``timestamp`` (``timestamp[ns, UTC]``, sorted, unique)
and ``value`` (``float64``), at most :data:`MAX_ROWS` rows and :data:`MAX_BYTES` bytes. A
series is cut into chunks by time, so a reader of ``[start, end)`` fetches only the chunks that
overlap it. Each chunk is a STORE; a Timeseries record lists them as :class:`ChunkRef`.

Appending (:func:`plan_append`) adds chunks for the new time range only; a point at a timestamp
some chunk already covers rewrites that chunk (the new value replaces the old one).
"""

from __future__ import annotations

import hashlib
import io
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict

from fishnet_stack.aleph.client import AlephClient
from fishnet_stack.errors import DataError

__all__ = [
    "MAX_BYTES",
    "MAX_ROWS",
    "SCHEMA",
    "AppendPlan",
    "ChunkRef",
    "ChunkStore",
    "decode",
    "encode",
    "normalise",
    "overlapping",
    "plan_append",
    "split",
    "to_points",
]

MAX_ROWS = 1_000_000
MAX_BYTES = 8 * 1024 * 1024
SCHEMA = pa.schema([("timestamp", pa.timestamp("ns", tz="UTC")), ("value", pa.float64())])
_NS = 1_000_000_000
_MAX_SECONDS = 9.2e9  # timestamp[ns] spans about ±292 years around 1970


class ChunkRef(BaseModel):
    """One chunk as a Timeseries record lists it: first and last timestamp (Unix seconds,
    inclusive), row count and the STORE's file hash."""

    model_config = ConfigDict(extra="allow")

    start: float
    end: float
    rows: int
    hash: str


def normalise(points: Iterable[Sequence[float]] | pd.Series) -> pd.Series:
    """A float64 series on a sorted, unique UTC ``DatetimeIndex`` (ns) named ``timestamp``.

    ``points`` are ``(unix_seconds, value)`` pairs, or a series indexed by time. For repeated
    timestamps the last value wins. Raises :class:`DataError` on times that are not finite
    numbers within the ``timestamp[ns]`` range, or values that are not finite numbers.
    """
    if isinstance(points, pd.Series):
        series = points.astype("float64")
        if not np.isfinite(series.to_numpy()).all():
            raise DataError("values must be finite numbers")
        try:
            index = pd.DatetimeIndex(series.index)
            index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
            series.index = index.as_unit("ns")
        except (ValueError, TypeError, OverflowError) as exc:
            raise DataError(f"times out of range (1678 to 2261): {exc}") from exc
    else:
        rows = [tuple(p) for p in points]
        if any(len(p) != 2 for p in rows):
            raise DataError("each point must be [unix_seconds, value]")
        try:
            seconds = np.array([float(p[0]) for p in rows], dtype="float64")
            values = np.array([float(p[1]) for p in rows], dtype="float64")
        except (TypeError, ValueError, OverflowError) as exc:
            raise DataError(f"invalid point: {exc}") from exc
        bad = ~np.isfinite(seconds) | (np.abs(seconds) > _MAX_SECONDS) | ~np.isfinite(values)
        if bad.any():
            t, v = rows[int(np.argmax(bad))]
            raise DataError(f"invalid point [{t}, {v}]: times must be Unix seconds between "
                            "1678 and 2261 and values finite numbers")
        times = pd.to_datetime(np.round(seconds * _NS).astype("int64"), unit="ns", utc=True)
        series = pd.Series(values, index=times.as_unit("ns"), dtype="float64")
    series.index.name = "timestamp"
    series.name = "value"
    series = series[~series.index.duplicated(keep="last")]
    return series.sort_index()


def to_points(series: pd.Series) -> list[list[float]]:
    """``[[unix_seconds, value], ...]`` of a normalised series (JSON-ready)."""
    stamps = series.index.asi8 / _NS
    return [[float(t), float(v)] for t, v in zip(stamps, series.to_numpy(), strict=True)]


def encode(series: pd.Series) -> bytes:
    """The Parquet bytes of one chunk (schema :data:`SCHEMA`)."""
    table = pa.table({"timestamp": pa.array(series.index, type=SCHEMA.field(0).type),
                      "value": pa.array(series.to_numpy(), type=pa.float64())}, schema=SCHEMA)
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


def decode(data: bytes) -> pd.Series:
    """The series in one chunk. Raises :class:`DataError` when ``data`` is not a Parquet
    file with a ``timestamp`` and a numeric ``value`` column."""
    try:
        table = pq.read_table(io.BytesIO(data))
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DataError(f"not a Parquet chunk: {exc}") from exc
    if "timestamp" not in table.column_names or "value" not in table.column_names:
        raise DataError(f"chunk lacks timestamp/value columns: {table.column_names}")
    frame = table.select(["timestamp", "value"]).to_pandas()
    return normalise(pd.Series(frame["value"].to_numpy(), index=frame["timestamp"]))


def split(series: pd.Series) -> list[pd.Series]:
    """``series`` cut by time into chunks of at most :data:`MAX_ROWS` rows and
    :data:`MAX_BYTES` encoded bytes (16 raw bytes a row keeps the default well under it)."""
    limit = min(MAX_ROWS, MAX_BYTES // 16)
    parts = [series.iloc[i:i + limit] for i in range(0, len(series), limit)]
    result: list[pd.Series] = []
    while parts:
        part = parts.pop(0)
        if len(part) > 1 and len(encode(part)) > MAX_BYTES:
            half = len(part) // 2
            parts[:0] = [part.iloc[:half], part.iloc[half:]]
        else:
            result.append(part)
    return result


def bounds(series: pd.Series) -> tuple[float, float]:
    """First and last timestamp of a non-empty series, Unix seconds."""
    stamps = series.index.asi8
    return float(stamps[0]) / _NS, float(stamps[-1]) / _NS


def overlapping(refs: Iterable[ChunkRef], start: float | None,
                end: float | None) -> list[ChunkRef]:
    """The chunks holding points in ``[start, end)`` (None = open), in time order."""
    return sorted((r for r in refs
                   if (start is None or r.end >= start) and (end is None or r.start < end)),
                  key=lambda r: r.start)


@dataclass(frozen=True)
class AppendPlan:
    """What an append changes: ``rewrite`` maps each existing chunk that must be rewritten to
    the new points it receives; ``fresh`` are the new points outside every existing chunk."""

    keep: list[ChunkRef]
    rewrite: dict[str, tuple[ChunkRef, pd.Series]]
    fresh: pd.Series


def plan_append(refs: Sequence[ChunkRef], points: pd.Series) -> AppendPlan:
    """Which chunks appending the normalised ``points`` touches.

    A point inside an existing chunk's ``[start, end]`` goes to that chunk (rewritten); other
    points make new chunks. Chunks no point falls in are kept as they are.
    """
    stamps = points.index.asi8 / _NS
    covered = pd.Series(False, index=points.index)
    rewrite: dict[str, tuple[ChunkRef, pd.Series]] = {}
    for ref in refs:
        inside = (stamps >= ref.start) & (stamps <= ref.end)
        if inside.any():
            rewrite[ref.hash] = (ref, points[inside])
            covered |= inside
    keep = [r for r in refs if r.hash not in rewrite]
    return AppendPlan(keep=keep, rewrite=rewrite, fresh=points[~covered.to_numpy()])


def merge(old: pd.Series, new: pd.Series) -> pd.Series:
    """``old`` with ``new``'s points added; at a shared timestamp the new value wins."""
    return normalise(pd.concat([old, new]))


class ChunkStore:
    """Reads and writes chunks as STOREs through ``aleph`` in ``channel``, for ``owner``.

    ``cache_dir`` (optional) keeps downloaded chunks by hash: chunks are immutable, so a cached
    one is never stale. Writes need a client with an account (authorised for ``owner``).
    """

    def __init__(self, aleph: AlephClient, channel: str, owner: str,
                 cache_dir: Path | None = None, memory_bytes: int = 0) -> None:
        self.aleph = aleph
        self.channel = channel
        self.owner = owner
        self.cache_dir = cache_dir
        # Decoded chunks kept in memory (least recently used out first), up to memory_bytes:
        # what makes a warm executor warm. 0 keeps none.
        self.memory_bytes = memory_bytes
        self._decoded: OrderedDict[str, pd.Series] = OrderedDict()
        self._decoded_bytes = 0

    async def write(self, series: pd.Series) -> list[ChunkRef]:
        """Store a normalised series as new chunks; returns their refs in time order.

        Raises :class:`~fishnet_stack.errors.MessageRejected` /
        :class:`~fishnet_stack.errors.NodeUnavailable` as the client does; chunks stored
        before a failure stay on the node unreferenced (harmless, content-addressed).
        """
        refs = []
        for part in split(series):
            if part.empty:
                continue
            data = encode(part)
            await self.aleph.upload(data, self.channel, extra={"address": self.owner})
            self._cache(hashlib.sha256(data).hexdigest(), data)
            start, end = bounds(part)
            refs.append(ChunkRef(start=start, end=end, rows=len(part),
                                 hash=hashlib.sha256(data).hexdigest()))
        return refs

    async def read(self, refs: Iterable[ChunkRef], start: float | None = None,
                   end: float | None = None) -> pd.Series:
        """The points in ``[start, end)`` (None = open) of the series made of ``refs``,
        fetching only the chunks that overlap. Raises :class:`DataError` when a chunk is
        missing on the node or is not a valid chunk."""
        parts = []
        for ref in overlapping(refs, start, end):
            parts.append(await self.chunk(ref))
        if not parts:
            return normalise([])
        series = normalise(pd.concat(parts))
        stamps = series.index.asi8 / _NS
        mask = np.ones(len(series), dtype=bool)
        if start is not None:
            mask &= stamps >= start
        if end is not None:
            mask &= stamps < end
        return series[mask]

    async def append(self, refs: Sequence[ChunkRef], points: pd.Series) -> list[ChunkRef]:
        """The refs of the series ``refs`` with ``points`` added (see :func:`plan_append`):
        untouched chunks are kept, touched ones rewritten, new ranges stored as new chunks."""
        plan = plan_append(refs, points)
        result = list(plan.keep)
        for ref, new in plan.rewrite.values():
            result += await self.write(merge(decode(await self._download(ref.hash)), new))
        if not plan.fresh.empty:
            result += await self.write(plan.fresh)
        return sorted(result, key=lambda r: r.start)

    async def chunk(self, ref: ChunkRef) -> pd.Series:
        """One chunk's series (from memory, the disk cache or the node; hash-checked)."""
        found = self._decoded.get(ref.hash)
        if found is not None:
            self._decoded.move_to_end(ref.hash)
            return found
        series = decode(await self._download(ref.hash))
        size = int(series.memory_usage(index=True, deep=False))
        if 0 < size <= self.memory_bytes:
            self._decoded[ref.hash] = series
            self._decoded_bytes += size
            while self._decoded_bytes > self.memory_bytes:
                _, evicted = self._decoded.popitem(last=False)
                self._decoded_bytes -= int(evicted.memory_usage(index=True, deep=False))
        return series

    async def _download(self, file_hash: str) -> bytes:
        cached = self.cache_dir / file_hash if self.cache_dir is not None else None
        if cached is not None and cached.exists():
            return cached.read_bytes()
        data = await self.aleph.download(file_hash)
        if not data:
            raise DataError(f"chunk {file_hash} is not available on the node")
        if hashlib.sha256(data).hexdigest() != file_hash:
            raise DataError(f"chunk {file_hash}: downloaded bytes do not match the hash")
        self._cache(file_hash, data)
        return data

    def _cache(self, file_hash: str, data: bytes) -> None:
        if self.cache_dir is None:
            return
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        target = self.cache_dir / file_hash
        if not target.exists():
            partial = target.with_suffix(".part")
            partial.write_bytes(data)
            partial.replace(target)
