"""Request signatures (DESIGN section 6.4): who is calling, proven per request.

A signed request carries ``X-Fishnet-Address``, ``X-Fishnet-Timestamp`` (Unix seconds) and
``X-Fishnet-Signature``: an EIP-191 ``personal_sign`` by that address of::

    fishnet-request\\n{METHOD}\\n{PATH}\\n{TIMESTAMP}\\n{sha256 hex of the raw body}

where PATH is the path the app sees plus ``?`` and the raw query string when there is one.
:class:`RequestVerifier` refuses (raises :class:`Unauthorized`) a request that lacks a header,
is malformed, does not recover to the address, is outside ±300 s of the server clock, or
repeats a signature this instance accepted before (the replay cache keeps each signature until
it is too old to be accepted anyway).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from fishnet_stack.aleph.signing import BadSignature, recover_address
from fishnet_stack.request_signing import request_text, signature_hash

__all__ = ["MAX_SKEW", "RequestVerifier", "Unauthorized", "request_text", "signature_hash"]

MAX_SKEW = 300
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_SIGNATURE = re.compile(r"^0x[0-9a-fA-F]{130}$")


class Unauthorized(Exception):
    """The request's signature is missing, malformed, forged, stale or replayed (HTTP 401)."""


@dataclass
class RequestVerifier:
    """Verifies signed requests for one API instance; ``clock`` is injectable for tests."""

    clock: Callable[[], float] = time.time
    max_skew: int = MAX_SKEW
    _seen: dict[str, float] = field(default_factory=dict)

    def verify(self, method: str, path: str, headers: dict[str, str], body: bytes) -> str:
        """The checksummed address that signed this request; raises :class:`Unauthorized`.

        ``headers`` keys are lower-case. Accepting a request records its signature, so the
        same signature is refused afterwards.
        """
        address = headers.get("x-fishnet-address", "")
        stamp = headers.get("x-fishnet-timestamp", "")
        signature = headers.get("x-fishnet-signature", "")
        if not (address and stamp and signature):
            raise Unauthorized("missing X-Fishnet-Address, X-Fishnet-Timestamp or "
                               "X-Fishnet-Signature header")
        if not _ADDRESS.match(address):
            raise Unauthorized("X-Fishnet-Address is not an 0x address")
        if not _SIGNATURE.match(signature):
            raise Unauthorized("X-Fishnet-Signature is not a 65-byte 0x hex signature")
        if not stamp.isascii() or not stamp.isdigit() or len(stamp) > 12:
            raise Unauthorized("X-Fishnet-Timestamp must be whole Unix seconds")
        now = self.clock()
        if abs(now - int(stamp)) > self.max_skew:
            raise Unauthorized(f"X-Fishnet-Timestamp is more than {self.max_skew} s off the "
                               "server clock; sign with the current time")
        try:
            signer = recover_address(signature, request_text(method, path, stamp, body))
        except BadSignature as exc:
            raise Unauthorized(f"bad signature: {exc}") from exc
        if signer.lower() != address.lower():
            raise Unauthorized("the signature was not made by X-Fishnet-Address over this "
                               "request")
        key = signature.lower()
        self._forget_older_than(now - self.max_skew)
        if key in self._seen:
            raise Unauthorized("replayed request: this signature was already used")
        self._seen[key] = int(stamp)
        return signer

    def _forget_older_than(self, limit: float) -> None:
        if len(self._seen) < 1024:
            return
        for key in [k for k, t in self._seen.items() if t < limit]:
            del self._seen[key]
