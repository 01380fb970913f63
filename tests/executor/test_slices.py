from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from executor_app.slices import Timeslice, chunks_for, lookback_of, trim_to_slice

BOUNDARY = datetime(2020, 1, 1, tzinfo=UTC)
EARLY, LATE = Timeslice(None, BOUNDARY), Timeslice(BOUNDARY, None)
INDEX = pd.date_range("2019-12-30", "2020-01-03", freq="D", tz="UTC")


def test_a_boundary_point_belongs_to_exactly_one_slice() -> None:
    in_early, in_late = EARLY.contains(INDEX), LATE.contains(INDEX)
    assert (in_early ^ in_late).all()
    assert in_late[INDEX.get_loc(pd.Timestamp(BOUNDARY))]


def test_lookback_extends_the_window_and_trimming_restores_the_slice() -> None:
    window = LATE.window(lookback_of("2D"))
    assert window.start == datetime(2019, 12, 30, tzinfo=UTC)
    frame = pd.DataFrame({"v": np.arange(len(INDEX))}, index=INDEX)
    rolled = frame.rolling("2D").sum()
    trimmed = trim_to_slice(rolled[window.contains(INDEX)], LATE)
    assert trimmed.index.min() == pd.Timestamp(BOUNDARY)
    pd.testing.assert_frame_equal(trimmed, rolled[LATE.contains(INDEX)])


@pytest.mark.parametrize("bad", ["soon", "-3D", "1M"])
def test_bad_lookbacks_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        lookback_of(bad)


def test_only_intersecting_chunks_are_chosen() -> None:
    chunks = [
        {"start": "2019-01-01", "end": "2019-12-31T23:59:59", "rows": 1, "hash": "a"},
        {"start": "2020-01-01", "end": "2020-06-30", "rows": 1, "hash": "b"},
        {"start": "2019-06-01", "end": "2020-01-01", "rows": 1, "hash": "c"},
    ]
    assert [c["hash"] for c in chunks_for(chunks, EARLY)] == ["a", "c"]
    assert [c["hash"] for c in chunks_for(chunks, LATE)] == ["c", "b"]


def test_empty_slices_are_refused() -> None:
    with pytest.raises(ValueError):
        Timeslice(BOUNDARY, BOUNDARY)
