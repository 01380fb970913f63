"""The apply journal: every signed message is written here *before* it is sent.

One JSON line per message, ``{"step": key, "message": SignedMessage}``, in
``.fishnet/journal/<stack>.jsonl`` next to the stack file. Step keys are derived from what the
message does (``program:<spec_hash>:<release>``, ``manifest:<content hash>``, ...), so a resumed
apply that needs the same step resends the *same* signed message: nodes treat a known
item_hash as already processed, so nothing is ever duplicated. A successful apply clears it.

:class:`CrashPoint` is the test hook ``FISHNET_APPLY_CRASH=k`` (exit right after sending the
k-th message) or ``k:before`` (right before sending it, after journaling it).
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from fishnet_stack.aleph.client import SignedMessage
from fishnet_stack.errors import ConfigError, ConflictError

__all__ = ["CRASH_EXIT_CODE", "ApplyLock", "CrashPoint", "Journal", "journal_path"]

CRASH_EXIT_CODE = 70


def journal_path(stack_file: Path, stack: str) -> Path:
    return stack_file.resolve().parent / ".fishnet" / "journal" / f"{stack}.jsonl"


class Journal:
    """Signed messages by step, persisted line by line (fsync'd) at ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._entries: dict[str, SignedMessage] = {}
        try:
            lines = path.read_text().splitlines()
        except FileNotFoundError:
            lines = []
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read the apply journal: {exc.strerror}") from exc
        for line in lines:
            try:
                entry = json.loads(line)
                self._entries[str(entry["step"])] = SignedMessage.from_json(entry["message"])
            except (ValueError, KeyError, TypeError):
                continue  # a line torn by a crash mid-write: that message was never sent

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, step: str) -> SignedMessage | None:
        return self._entries.get(step)

    def record(self, step: str, message: SignedMessage) -> None:
        """Append ``message`` for ``step`` and fsync before returning."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"step": step, "message": message.to_json()}, sort_keys=True)
        with self.path.open("a") as handle:
            handle.write(line + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        self._entries[step] = message

    def clear(self) -> None:
        self._entries.clear()
        self.path.unlink(missing_ok=True)


class ApplyLock:
    """An exclusive ``flock`` on ``<journal>.lock`` for the life of one apply from this checkout.

    Two applies of one stack from the same directory would interleave one journal; the second
    fails at once with :class:`ConflictError` (before reading or sending anything). The kernel
    drops the lock when the process ends, however it ends. Applies from other machines are
    caught by the manifest checks of :mod:`fishnet_stack.deploy.apply` instead.
    """

    def __init__(self, journal: Path) -> None:
        self.path = journal.with_suffix(".lock")
        self._fd: int | None = None

    def __enter__(self) -> ApplyLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise ConflictError(f"another apply of this stack is running from this checkout "
                                f"(pid {holder}, lock {self.path}); wait for it, then plan "
                                "again") from exc
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


@dataclass(frozen=True)
class CrashPoint:
    """Exit hard around the ``count``-th message sent (tests only)."""

    count: int
    before: bool

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> CrashPoint | None:
        raw = environ.get("FISHNET_APPLY_CRASH", "")
        if not raw:
            return None
        number, _, where = raw.partition(":")
        if not number.isdigit() or where not in ("", "before", "after"):
            raise ConfigError(f"FISHNET_APPLY_CRASH={raw!r}; expected k, k:before or k:after")
        return cls(int(number), where == "before")

    def check(self, sent: int, before: bool) -> None:
        """Exit the process (no cleanup) when this is the crash point."""
        if before == self.before and sent == self.count:
            os._exit(CRASH_EXIT_CODE)
