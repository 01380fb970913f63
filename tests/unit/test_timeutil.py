from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from fishnet_stack.timeutil import format_utc, parse_epoch, parse_instant

MIDNIGHT = datetime(2020, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("value", [
    "2020-01-01", "2020-01-01T00:00:00", "2020-01-01T00:00:00Z", "2020-01-01T01:00:00+01:00",
    date(2020, 1, 1), datetime(2020, 1, 1), 1577836800, 1577836800.0, 1577836800000,
    1577836800000000, 1577836800000000000,
])
def test_every_spelling_of_the_same_instant(value: object) -> None:
    assert parse_instant(value) == MIDNIGHT  # type: ignore[arg-type]


def test_offsets_convert_to_utc() -> None:
    local = datetime(2020, 1, 1, 9, tzinfo=timezone(timedelta(hours=9)))
    assert parse_instant(local) == MIDNIGHT
    assert parse_instant(local).tzinfo is UTC


@pytest.mark.parametrize("bad", ["", "yesterday", "2020-13-01", True])
def test_bad_times_say_what_is_valid(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_instant(bad)  # type: ignore[arg-type]


def test_sub_second_epochs_and_formatting() -> None:
    assert parse_epoch(1577836800.5).microsecond == 500000
    assert format_utc(MIDNIGHT) == "2020-01-01T00:00:00Z"
