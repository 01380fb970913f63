"""Parquet chunks without a node: schema, limits, time partitioning, append plans."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fishnet_stack.chunks import (
    MAX_BYTES,
    MAX_ROWS,
    SCHEMA,
    ChunkRef,
    decode,
    encode,
    normalise,
    overlapping,
    plan_append,
    split,
    to_points,
)
from fishnet_stack.errors import DataError


def test_schema_is_utc_nanoseconds_and_float64_sorted_unique() -> None:
    series = normalise([(3, 3.0), (1, 1.0), (3, 30.0), (2.5, 2.0)])
    table = pq.read_table(io.BytesIO(encode(series)))
    assert table.schema.equals(SCHEMA)
    assert table.column("timestamp").to_pylist() == sorted(set(table.column("timestamp")
                                                               .to_pylist()))
    assert to_points(decode(encode(series))) == [[1.0, 1.0], [2.5, 2.0], [3.0, 30.0]]


def test_split_respects_row_and_byte_limits_in_time_order() -> None:
    n = 600_000
    series = pd.Series(np.random.default_rng(1).random(n),
                       index=pd.date_range("2000-01-01", periods=n, freq="s", tz="UTC"))
    parts = split(normalise(series))
    assert len(parts) == 2 and sum(len(p) for p in parts) == n
    assert all(len(p) <= MAX_ROWS and len(encode(p)) <= MAX_BYTES for p in parts)
    assert parts[0].index[-1] < parts[1].index[0]


def test_append_plan_touches_only_covering_chunks() -> None:
    refs = [ChunkRef(start=0, end=9, rows=10, hash="a"),
            ChunkRef(start=20, end=29, rows=10, hash="b")]
    plan = plan_append(refs, normalise([(5, 1.0), (15, 1.0), (30, 1.0), (31, 1.0)]))
    assert [r.hash for r in plan.keep] == ["b"]
    assert list(plan.rewrite) == ["a"] and to_points(plan.rewrite["a"][1]) == [[5.0, 1.0]]
    assert to_points(plan.fresh) == [[15.0, 1.0], [30.0, 1.0], [31.0, 1.0]]
    assert [r.hash for r in overlapping(refs, 10, 20)] == []
    assert [r.hash for r in overlapping(refs, 9, 21)] == ["a", "b"]
    assert [r.hash for r in overlapping(refs, None, 5)] == ["a"]


@pytest.mark.parametrize("points", [[(float("nan"), 1.0)], [(1, float("inf"))], [(1e300, 1)],
                                    [(1, "x")], [(1,)], [("soon", 1)]])
def test_invalid_points_are_data_errors(points: list[tuple[object, ...]]) -> None:
    with pytest.raises(DataError):
        normalise(points)  # type: ignore[arg-type]


def test_decode_refuses_what_is_not_a_chunk() -> None:
    with pytest.raises(DataError):
        decode(b"not parquet")
    other = io.BytesIO()
    pq.write_table(pa.table({"a": [1]}), other)
    with pytest.raises(DataError):
        decode(other.getvalue())
