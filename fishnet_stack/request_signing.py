"""Request signatures (DESIGN section 6.4), the one definition both sides use: the API app
verifies them, the SDK makes them.

A signed request carries ``X-Fishnet-Address``, ``X-Fishnet-Timestamp`` (Unix seconds) and
``X-Fishnet-Signature``, an EIP-191 ``personal_sign`` by that address of::

    fishnet-request\\n{METHOD}\\n{PATH}\\n{TIMESTAMP}\\n{sha256 hex of the raw body}

``PATH`` is the path the app sees (without a node's ``/vm/{item_hash}`` prefix), plus ``?`` and
the raw query string exactly as sent when there is one.
"""

from __future__ import annotations

import hashlib

from fishnet_stack.aleph.accounts import Account

__all__ = ["request_headers", "request_text", "signature_hash"]


def request_text(method: str, path: str, timestamp: str, body: bytes) -> str:
    """The text a caller signs for one request."""
    return (f"fishnet-request\n{method.upper()}\n{path}\n{timestamp}\n"
            f"{hashlib.sha256(body).hexdigest()}")


def signature_hash(signature: str) -> str:
    """What written records keep of the request signature that caused them."""
    return hashlib.sha256(signature.lower().encode()).hexdigest()


def request_headers(account: Account, method: str, path: str, body: bytes,
                    timestamp: int) -> dict[str, str]:
    """The three headers that sign ``method path`` with ``body`` at ``timestamp``."""
    stamp = str(timestamp)
    return {"X-Fishnet-Address": account.address, "X-Fishnet-Timestamp": stamp,
            "X-Fishnet-Signature": account.sign(request_text(method, path, stamp, body))}
