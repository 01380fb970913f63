"""Who computes which slice, and when an execution is finished (DESIGN section 7.2), as pure
functions over the Claim and partial Result records read back from the network.

Aleph has no transactions, so claims are append-only: every executor that wants a slice posts a
Claim, reads all claims back, and the earliest live ``(time, item_hash)`` wins. A claim lives
until its lease expires; a restarted executor recognises its own live claims by address and
finishes (or fails) the slice instead of claiming again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["ClaimView", "Decision", "PartialView", "decide", "winner"]


@dataclass(frozen=True)
class ClaimView:
    """A Claim as coordination needs it: posted at ``time`` (message time) by ``executor``."""

    item_hash: str
    slice_index: int
    executor: str
    time: float
    lease_until: float

    def live(self, now: float) -> bool:
        return now < self.lease_until


@dataclass(frozen=True)
class PartialView:
    """A partial Result of one slice: ``status`` ``SUCCESS`` or ``FAILED`` (with ``reason``)."""

    slice_index: int
    status: str
    reason: str | None = None
    time: float = 0.0


def winner(claims: Iterable[ClaimView], slice_index: int, now: float) -> ClaimView | None:
    """The claim that owns ``slice_index`` now: the earliest ``(time, item_hash)`` among live
    claims of that slice, or None when no live claim exists (the slice is free to claim)."""
    live = [c for c in claims if c.slice_index == slice_index and c.live(now)]
    return min(live, key=lambda c: (c.time, c.item_hash), default=None)


@dataclass(frozen=True)
class Decision:
    """What the aggregator should do: ``wait`` for missing slices, ``aggregate`` (all succeeded)
    or ``fail`` with the first failed slice's ``reason``."""

    action: str
    missing: tuple[int, ...] = ()
    reason: str | None = None


def decide(slice_count: int, partials: Sequence[PartialView]) -> Decision:
    """The aggregator's next step once it has read the partial Results of every slice.

    The first partial per slice counts (a slice is computed once; later duplicates from a lease
    takeover are ignored). Any failed slice fails the execution with that slice's reason, in
    slice order, as soon as it is known.
    """
    first: dict[int, PartialView] = {}
    for partial in sorted(partials, key=lambda p: p.time):
        if 0 <= partial.slice_index < slice_count:
            first.setdefault(partial.slice_index, partial)
    for index in range(slice_count):
        found = first.get(index)
        if found is not None and found.status != "SUCCESS":
            return Decision("fail", reason=f"slice {index}: {found.reason or 'failed'}")
    missing = tuple(i for i in range(slice_count) if i not in first)
    if missing:
        return Decision("wait", missing=missing)
    return Decision("aggregate")
