"""Who may send a message on behalf of an address: pyaleph's ``security`` aggregate rules.

An address A lets a sender B act for it by listing B in the ``authorizations`` of its ``security``
aggregate; each entry may narrow the delegation to a chain, channels, message types, post types
and aggregate keys (an empty or missing list allows everything).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Action", "is_authorized"]


@dataclass(frozen=True)
class Action:
    """What a sender wants to do for ``owner``: the fields an authorization is matched against.

    ``post_type`` is the original's type for a POST amend (pyaleph checks amends against the
    message they amend)."""

    owner: str
    sender: str
    chain: str
    channel: str | None
    type: str
    post_type: str | None = None
    aggregate_key: str | None = None


def _allows(entry: Mapping[str, Any], name: str, value: str | None) -> bool:
    allowed = entry.get(name) or []
    return not allowed or (isinstance(allowed, list) and value in allowed)


def is_authorized(action: Action, security: Mapping[str, Any] | None) -> bool:
    """Whether ``action.sender`` may act for ``action.owner`` given the owner's ``security``
    aggregate (None when the owner has none). The owner itself is always allowed."""
    if action.sender == action.owner:
        return True
    if not security:
        return False
    entries = security.get("authorizations")
    if not isinstance(entries, list):
        return False
    for entry in entries:
        if not isinstance(entry, Mapping) or entry.get("address") != action.sender:
            continue
        chain = entry.get("chain")
        if chain and chain != action.chain:
            continue
        if not _allows(entry, "channels", action.channel):
            continue
        if not _allows(entry, "types", action.type):
            continue
        if action.type == "POST" and not _allows(entry, "post_types", action.post_type):
            continue
        key = action.aggregate_key
        if action.type == "AGGREGATE" and not _allows(entry, "aggregate_keys", key):
            continue
        return True
    return False
