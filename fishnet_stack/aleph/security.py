"""The ``authorizations`` list of an address's ``security`` aggregate (DESIGN section 9).

Aggregates merge by top-level key, so the list is always rewritten whole. Entries a stack owns
carry ``"fishnet_stack": <stack>``; every other entry is kept untouched, in its order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["SECURITY_KEY", "STACK_TAG", "authorised_addresses", "owned_addresses",
           "rewrite_authorizations"]

SECURITY_KEY = "security"
STACK_TAG = "fishnet_stack"
VM_TYPES = ("POST", "STORE")


def owned_addresses(entries: Sequence[Mapping[str, Any]], stack: str) -> set[str]:
    """Addresses authorised by entries that ``stack`` owns."""
    return {str(e.get("address")) for e in entries if e.get(STACK_TAG) == stack}


def rewrite_authorizations(entries: Sequence[Mapping[str, Any]], stack: str, channel: str,
                           addresses: Iterable[str]) -> list[dict[str, Any]]:
    """``entries`` with this stack's entries replaced by one per address in ``addresses``
    (sorted), each scoped to ``channel`` and POST/STORE. Other entries are kept as they are."""
    kept = [dict(e) for e in entries if e.get(STACK_TAG) != stack]
    ours = [{"address": a, "chain": "ETH", "channels": [channel], "types": list(VM_TYPES),
             STACK_TAG: stack} for a in sorted(set(addresses))]
    return kept + ours


def authorised_addresses(entries: Any, channel: str | None = None) -> set[str]:
    """Lower-cased addresses the ``authorizations`` list ``entries`` lets act for its owner:
    in ``channel`` (entries without channels allow every channel), or in any scope when
    ``channel`` is None. Malformed entries and lists are ignored."""
    found: set[str] = set()
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("address"), str):
            continue
        channels = entry.get("channels") or []
        if channel is None or not channels or channel in channels:
            found.add(entry["address"].lower())
    return found
