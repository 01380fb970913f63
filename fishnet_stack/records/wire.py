"""The aars wire format of records, as pure functions (DESIGN section 2).

A record is an Aleph POST in the stack's channel whose message content is, key order included
(what aleph-sdk's ``create_post`` wrote under aars 0.7.5)::

    {"address": OWNER, "time": T, "content": {record fields}, "type": "Dataset"}
    {"address": OWNER, "time": T, "content": {all fields, new values}, "ref": ID, "type": "amend"}

The record id is always the original's item_hash; its revisions are the original followed by
its amends in content-time order; the current state is the latest revision. Forgetting sends a
FORGET of the original and every amend (``{"address", "time", "hashes", "aggregates": []}``).

Nothing here touches the network, a clock or the disk: the caller passes times in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "AMEND",
    "Revision",
    "amend_content",
    "create_content",
    "current",
    "forget_content",
    "ordered",
    "parse_revision",
]

AMEND = "amend"


@dataclass(frozen=True)
class Revision:
    """One POST of a record: the original (``ref is None``) or an amend.

    ``record_id`` is the original's item_hash; ``post_type`` is the record class name for an
    original and ``"amend"`` for an amend; ``time`` is the content time (what orders amends);
    ``sender`` is the key that signed the message, ``address`` the owner it was posted for.
    """

    item_hash: str
    record_id: str
    post_type: str
    fields: dict[str, Any]
    address: str
    sender: str
    time: float
    channel: str | None
    ref: str | None

    @property
    def is_amend(self) -> bool:
        return self.ref is not None


def create_content(post_type: str, fields: Mapping[str, Any], address: str,
                   time: float) -> dict[str, Any]:
    """The message content of a new record of class ``post_type``."""
    if not post_type or post_type == AMEND:
        raise ValueError(f"invalid record type {post_type!r}")
    return {"address": address, "time": time, "content": dict(fields), "type": post_type}


def amend_content(record_id: str, fields: Mapping[str, Any], address: str,
                  time: float) -> dict[str, Any]:
    """The message content of an amend of ``record_id`` to ``fields`` (the full new state).

    ``address`` must be the original's ``content.address``: nodes refuse amends that change it.
    """
    if not record_id:
        raise ValueError("an amend needs the id of the record it amends")
    return {"address": address, "time": time, "content": dict(fields), "ref": record_id,
            "type": AMEND}


def forget_content(hashes: Iterable[str], address: str, time: float) -> dict[str, Any]:
    """The message content of a FORGET of ``hashes`` (a record's original and its amends)."""
    targets = list(dict.fromkeys(hashes))
    if not targets:
        raise ValueError("nothing to forget")
    return {"address": address, "time": time, "hashes": targets, "aggregates": []}


def parse_revision(message: Mapping[str, Any]) -> Revision | None:
    """The record revision carried by a message as ``messages.json`` or ws0 gives it.

    Returns None for anything that is not a record POST: other message types, posts whose
    content is not an object with an object ``content`` and a string ``type``, amends without a
    string ``ref``. Never raises on malformed input.
    """
    if message.get("type") != "POST":
        return None
    content = message.get("content")
    item_hash = message.get("item_hash")
    sender = message.get("sender")
    if not isinstance(content, Mapping) or not isinstance(item_hash, str):
        return None
    fields, post_type = content.get("content"), content.get("type")
    address, time = content.get("address"), content.get("time")
    if not isinstance(fields, Mapping) or not isinstance(post_type, str) or not post_type:
        return None
    if not isinstance(address, str) or not isinstance(sender, str):
        return None
    if not isinstance(time, int | float) or isinstance(time, bool):
        return None
    ref = content.get("ref")
    if post_type == AMEND:
        if isinstance(ref, Mapping):  # a ChainRef: {"chain", "channel", "item_hash"}
            ref = ref.get("item_hash")
        if not isinstance(ref, str) or not ref:
            return None
    else:
        ref = None
    channel = message.get("channel")
    return Revision(
        item_hash=item_hash, record_id=ref or item_hash, post_type=post_type,
        fields=dict(fields), address=address, sender=sender, time=float(time),
        channel=channel if isinstance(channel, str) else None, ref=ref,
    )


def current(original: Revision, amends: Iterable[Revision]) -> Revision:
    """The revision that holds the current state: the latest valid amend, else the original.

    An amend counts only if it refers to ``original`` and keeps its ``address`` (what nodes
    enforce); ties on time are broken by item_hash so every reader picks the same one.
    """
    return ordered(original, amends)[-1]


def ordered(original: Revision, amends: Iterable[Revision]) -> list[Revision]:
    """The record's revisions, the original first, then valid amends in content-time order."""
    valid = [a for a in amends
             if a.ref == original.item_hash and a.address == original.address]
    return [original, *sorted(valid, key=lambda a: (a.time, a.item_hash))]
