"""Blocking reads from an Aleph node, for synchronous callers such as the SDK (which must work
inside notebooks, where an event loop already runs and ``asyncio.run`` is refused)."""

from __future__ import annotations

from typing import Any

import httpx

from fishnet_stack.errors import MessageRejected, NodeUnavailable

__all__ = ["NodeReader"]


class NodeReader:
    """GETs against one node's API; 404 means None, 5xx and transport failures raise
    :class:`NodeUnavailable`, other 4xx :class:`MessageRejected`."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.http = httpx.Client(base_url=self.url, timeout=timeout)

    def close(self) -> None:
        self.http.close()

    def _get(self, path: str, params: dict[str, str] | None = None) -> httpx.Response | None:
        try:
            response = self.http.get(path, params=params)
        except httpx.TransportError as exc:
            raise NodeUnavailable(f"cannot reach the node at {self.url}: {exc}") from exc
        if response.status_code == 404:
            return None
        if response.status_code >= 500:
            raise NodeUnavailable(f"{self.url}{path}: HTTP {response.status_code}")
        if response.status_code >= 400:
            raise MessageRejected(f"{self.url}{path}: HTTP {response.status_code}")
        return response

    def aggregate(self, address: str, key: str) -> dict[str, Any] | None:
        """The merged aggregate ``key`` of ``address``, or None."""
        response = self._get(f"/api/v0/aggregates/{address}.json", {"keys": key})
        value = response.json().get("data", {}).get(key) if response is not None else None
        return dict(value) if isinstance(value, dict) else None

    def message(self, item_hash: str) -> dict[str, Any] | None:
        """``/api/v0/messages/{hash}``: status and message, or None when unknown."""
        response = self._get(f"/api/v0/messages/{item_hash}")
        return None if response is None else dict(response.json())

    def download(self, file_hash: str) -> bytes | None:
        """A stored file, or None when the node does not have it."""
        response = self._get(f"/api/v0/storage/raw/{file_hash}")
        return None if response is None else response.content
