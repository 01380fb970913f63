"""Signed HTTP to a set of API instances, and HTTP errors as the typed errors of
:mod:`fishnet_stack.errors`.

Instances index the network independently, so one may not have seen a write another just
made. Writes therefore go to one *primary* instance (the next one when it is down), reads are
spread round-robin, and a read that finds nothing elsewhere is asked of the primary before
"not found" is believed.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

import httpx

from fishnet_stack.errors import (
    ApiError,
    ApiUnavailable,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    SignatureRejected,
)
from fishnet_stack.request_signing import request_headers
from fishnet_stack.sdk.wallet import Wallet

__all__ = ["Transport"]

_ERRORS: Mapping[int, type[ApiError]] = {
    400: InvalidRequest, 401: SignatureRejected, 403: PermissionDenied, 404: NotFound,
    413: InvalidRequest, 422: InvalidRequest,
}


def _reason(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300] or response.reason_phrase
    detail = body.get("detail", body) if isinstance(body, dict) else body
    return detail if isinstance(detail, str) else json.dumps(detail)[:500]


class Transport:
    """Requests to ``urls`` (API instances of one deployment) as ``wallet``."""

    def __init__(self, urls: Sequence[str], wallet: Wallet | None, timeout: float = 120.0) -> None:
        if not urls:
            raise ApiUnavailable("no API instance to talk to")
        self.urls = [u.rstrip("/") for u in urls]
        self.wallet = wallet
        self.http = httpx.Client(timeout=timeout)
        self._next = itertools.cycle(range(len(self.urls)))
        self._stamps: dict[tuple[str, str, bytes], int] = {}
        self._primary = 0

    def close(self) -> None:
        self.http.close()

    def _timestamp(self, key: tuple[str, str, bytes]) -> int:
        # Signatures are deterministic: the same request signed twice in one second would be
        # refused as a replay, so identical requests get strictly increasing timestamps.
        stamp = max(int(time.time()), self._stamps.get(key, 0) + 1)
        self._stamps[key] = stamp
        return stamp

    def request(self, method: str, path: str, *, json_body: Any = None,
                params: Mapping[str, Any] | None = None, content: bytes | None = None,
                content_type: str | None = None, signed: bool = True) -> httpx.Response:
        """Send one request, to each instance in turn until one answers (not 5xx).

        Raises the :class:`ApiError` subclass of the status, or :class:`ApiUnavailable` when
        no instance answered.
        """
        clean = {k: str(v) for k, v in (params or {}).items() if v is not None}
        full = path + ("?" + urlencode(clean) if clean else "")
        body = content if content is not None else (
            b"" if json_body is None else json.dumps(json_body).encode())
        headers = {}
        if content_type or json_body is not None:
            headers["content-type"] = content_type or "application/json"
        idempotent = method in ("GET", "HEAD")
        first = next(self._next) if idempotent else self._primary
        failures = []
        for offset in range(len(self.urls)):
            base = self.urls[(first + offset) % len(self.urls)]
            if signed:
                if self.wallet is None:
                    raise SignatureRejected(f"{method} {path} needs a wallet to sign with")
                headers.update(request_headers(self.wallet.account, method, full, body,
                                               self._timestamp((method, full, body))))
            # A write goes to another instance only when it surely never ran here (refused
            # connection, VM down behind the proxy); a read may be retried anywhere.
            try:
                response = self.http.request(method, base + full, content=body or None,
                                             headers=headers)
            except httpx.TransportError as exc:
                if not idempotent and not isinstance(exc, httpx.ConnectError):
                    raise ApiUnavailable(f"{method} {path}: {base} failed mid-request ({exc}); "
                                         "check whether it was applied before retrying") from exc
                failures.append(f"{base}: {exc.__class__.__name__}")
                continue
            if response.status_code >= 500:
                if not idempotent and response.status_code not in (502, 503):
                    raise ApiUnavailable(f"{method} {path}: {base} answered "
                                         f"{response.status_code}: {_reason(response)}",
                                         response.status_code)
                failures.append(f"{base}: HTTP {response.status_code}")
                continue
            index = self.urls.index(base)
            if response.status_code == 404 and idempotent and index != self._primary:
                failures.append(f"{base}: not found (may lag)")
                response = self._ask_primary(method, full, body, headers, signed) or response
            if not idempotent:
                self._primary = index
            if response.status_code >= 400:
                error = _ERRORS.get(response.status_code, ApiError)
                raise error(f"{method} {path}: {_reason(response)}", response.status_code)
            return response
        raise ApiUnavailable(f"{method} {path}: no API instance answered ({'; '.join(failures)})")

    def _ask_primary(self, method: str, full: str, body: bytes, headers: dict[str, str],
                     signed: bool) -> httpx.Response | None:
        if signed and self.wallet is not None:
            headers = {**headers, **request_headers(self.wallet.account, method, full, body,
                                                    self._timestamp((method, full, body)))}
        try:
            response = self.http.request(method, self.urls[self._primary] + full,
                                         content=body or None, headers=headers)
        except httpx.TransportError:
            return None
        return None if response.status_code >= 500 else response

    def json(self, method: str, path: str, **options: Any) -> Any:
        return self.request(method, path, **options).json()
