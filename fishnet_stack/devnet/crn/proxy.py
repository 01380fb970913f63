"""Reverse-proxy one request from the node's ``/vm/{item_hash}/...`` route to a VM's socket."""

from __future__ import annotations

from urllib.parse import quote

import httpx
from starlette.requests import Request
from starlette.responses import Response

__all__ = ["forward", "vm_target"]

_HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
    "trailers", "transfer-encoding", "upgrade", "content-length",
})


def vm_target(request: Request, item_hash: str, path: str) -> str:
    """The path and query the program sees: what follows ``/vm/{item_hash}``, still encoded."""
    raw = request.scope.get("raw_path")
    prefix = f"/vm/{item_hash}".encode()
    if isinstance(raw, bytes) and raw.startswith(prefix):
        vm_path = raw[len(prefix):].decode("latin-1")
    else:
        vm_path = "/" + quote(path)
    if not vm_path.startswith("/"):
        vm_path = "/" + vm_path
    query = request.scope.get("query_string") or b""
    return vm_path + ("?" + query.decode("latin-1") if query else "")


def _end_to_end(raw: list[tuple[bytes, bytes]], connection: str) -> list[tuple[bytes, bytes]]:
    """``raw`` headers without the hop-by-hop ones (including those ``connection`` names)."""
    drop = _HOP_BY_HOP | {t.strip().lower() for t in connection.split(",") if t.strip()}
    return [(k.lower(), v) for k, v in raw if k.decode("latin-1").lower() not in drop]


async def forward(
    client: httpx.AsyncClient, request: Request, target: str, extra: list[tuple[bytes, bytes]]
) -> Response:
    """Send ``request`` (method, headers, body) to ``target`` through ``client``; the VM's
    status, headers (plus ``extra``) and body, byte for byte (no decompression).

    Raises httpx.HTTPError when the VM cannot be reached or fails mid-response.
    """
    headers = _end_to_end(request.headers.raw, request.headers.get("connection", ""))
    if request.client is not None:
        headers.append((b"x-forwarded-for", request.client.host.encode()))
    headers.append((b"x-forwarded-proto", request.url.scheme.encode()))
    upstream = await client.send(
        httpx.Request(request.method, "http://vm" + target, headers=headers,
                      content=await request.body()),
        stream=True,
    )
    try:
        body = b"".join([chunk async for chunk in upstream.aiter_raw()])
    finally:
        await upstream.aclose()
    raw = _end_to_end(upstream.headers.raw, upstream.headers.get("connection", ""))
    length = upstream.headers.get("content-length")
    if request.method == "HEAD" and length is not None:
        raw.append((b"content-length", length.encode()))
    elif upstream.status_code >= 200 and upstream.status_code not in (204, 304):
        raw.append((b"content-length", str(len(body)).encode()))
    response = Response(content=body, status_code=upstream.status_code)
    response.raw_headers = raw + extra
    return response
