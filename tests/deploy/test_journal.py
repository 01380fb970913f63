"""The apply journal, its crash hook and the checkout lock (no network)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fishnet_stack.aleph.client import SignedMessage
from fishnet_stack.deploy.journal import ApplyLock, CrashPoint, Journal
from fishnet_stack.errors import ConfigError, ConflictError


def message(n: int) -> SignedMessage:
    return SignedMessage(wire={"item_hash": f"{n:064x}", "type": "POST"}, content={"n": n})


def test_journal_survives_reload_and_ignores_a_torn_line(tmp_path: Path) -> None:
    path = tmp_path / "j" / "s.jsonl"
    journal = Journal(path)
    journal.record("a", message(1))
    journal.record("b", message(2))
    with path.open("a") as handle:
        handle.write('{"step": "c", "mess')  # a crash in the middle of a write
    again = Journal(path)
    assert len(again) == 2
    got = again.get("b")
    assert got is not None and got.item_hash == message(2).item_hash
    again.clear()
    assert not path.exists() and Journal(path).get("a") is None


@pytest.mark.parametrize(("raw", "expected"), [("3", CrashPoint(3, False)),
                                               ("4:before", CrashPoint(4, True)),
                                               ("5:after", CrashPoint(5, False)), ("", None)])
def test_crash_point_parsing(raw: str, expected: CrashPoint | None) -> None:
    assert CrashPoint.from_env({"FISHNET_APPLY_CRASH": raw}) == expected


@pytest.mark.parametrize("raw", ["x", "3:during", "-1"])
def test_bad_crash_point_is_a_config_error(raw: str) -> None:
    with pytest.raises(ConfigError, match="FISHNET_APPLY_CRASH"):
        CrashPoint.from_env({"FISHNET_APPLY_CRASH": raw})


def test_second_lock_of_one_checkout_is_a_conflict(tmp_path: Path) -> None:
    journal = tmp_path / "s.jsonl"
    with ApplyLock(journal):
        with pytest.raises(ConflictError, match="another apply of this stack is running"):
            ApplyLock(journal).__enter__()
    with ApplyLock(journal):  # released when the first one ends
        pass
