"""Just enough HTTP/1.1 for a Unix socket behind a reverse proxy: requests in, responses out.

Request bodies are buffered (``Content-Length`` or chunked); responses are streamed with
``Content-Length`` when the app gives it (or sends its whole body at once), chunked otherwise.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import unquote

__all__ = ["BadRequest", "HttpRequest", "ResponseWriter", "read_request"]

MAX_HEAD_BYTES = 64 * 1024


class BadRequest(Exception):
    """The bytes on the connection are not an HTTP/1.1 request we can serve."""


@dataclass(frozen=True)
class HttpRequest:
    """One parsed request, body included."""

    method: str
    http_version: str
    raw_path: bytes
    query_string: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes
    keep_alive: bool

    @property
    def path(self) -> str:
        return unquote(self.raw_path.decode("latin-1"))


async def read_request(reader: asyncio.StreamReader) -> HttpRequest | None:
    """Read one request; None when the peer closed the connection between requests.

    Raises BadRequest on malformed input (the caller answers 400 and closes).
    """
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial.strip():
            return None
        raise BadRequest("connection closed in the middle of a request head") from exc
    except asyncio.LimitOverrunError as exc:
        raise BadRequest("request head too large") from exc
    lines = head[:-4].split(b"\r\n")
    try:
        method, target, version = lines[0].decode("latin-1").split(" ")
    except ValueError as exc:
        raise BadRequest(f"bad request line {lines[0][:100]!r}") from exc
    headers: list[tuple[bytes, bytes]] = []
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep or not name.strip():
            raise BadRequest(f"bad header line {line[:100]!r}")
        headers.append((name.strip().lower(), value.strip()))
    raw_target = target.encode("latin-1")
    if b"://" in raw_target.split(b"?", 1)[0]:  # absolute-form: keep only path and query
        raw_target = b"/" + raw_target.split(b"://", 1)[1].partition(b"/")[2]
    raw_path, _, query = raw_target.partition(b"?")
    body = await _read_body(reader, headers)
    return HttpRequest(method.upper(), version.removeprefix("HTTP/"), raw_path, query, headers,
                       body, _keep_alive(version, headers))


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    return next((value for key, value in headers if key == name), None)


def _keep_alive(version: str, headers: list[tuple[bytes, bytes]]) -> bool:
    tokens = {t.strip().lower() for k, v in headers if k == b"connection" for t in v.split(b",")}
    if version == "HTTP/1.0":
        return b"keep-alive" in tokens
    return b"close" not in tokens


async def _read_body(reader: asyncio.StreamReader, headers: list[tuple[bytes, bytes]]) -> bytes:
    try:
        encoding = _header(headers, b"transfer-encoding")
        if encoding is not None and b"chunked" in encoding.lower():
            chunks: list[bytes] = []
            while True:
                size_line = await reader.readuntil(b"\r\n")
                size = int(size_line.split(b";", 1)[0].strip(), 16)
                if size == 0:
                    while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                        pass
                    return b"".join(chunks)
                chunks.append(await reader.readexactly(size))
                await reader.readexactly(2)
        length = _header(headers, b"content-length")
        if length is None:
            return b""
        return await reader.readexactly(int(length))
    except (ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
        raise BadRequest(f"bad request body: {exc}") from exc


class ResponseWriter:
    """Writes one response; the head goes out with the first body chunk, so a response sent
    in one piece gets a ``Content-Length``."""

    def __init__(self, writer: asyncio.StreamWriter, *, head_only: bool, keep_alive: bool):
        self._writer = writer
        self._head_only = head_only
        self.keep_alive = keep_alive
        self._status: int | None = None
        self._headers: list[tuple[bytes, bytes]] = []
        self._chunked = False
        self.head_sent = False
        self.complete = False

    @property
    def started(self) -> bool:
        return self._status is not None

    def start(self, status: int, headers: list[tuple[bytes, bytes]]) -> None:
        if self._status is not None:
            raise RuntimeError("http.response.start sent twice")
        self._status = status
        self._headers = [(bytes(k).lower(), bytes(v)) for k, v in headers]

    async def body(self, chunk: bytes, more_body: bool) -> None:
        if self._status is None:
            raise RuntimeError("http.response.body before http.response.start")
        if self.complete:
            return
        if not self.head_sent:
            self._send_head(None if more_body else len(chunk))
        if chunk and not self._head_only:
            self._writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if self._chunked else chunk)
        if not more_body:
            if self._chunked and not self._head_only:
                self._writer.write(b"0\r\n\r\n")
            self.complete = True
        await self._writer.drain()

    def _send_head(self, whole_length: int | None) -> None:
        assert self._status is not None
        # Framing is ours to choose: drop what the app said about it, keep its Content-Length.
        headers = [(k, v) for k, v in self._headers
                   if k not in (b"connection", b"keep-alive", b"transfer-encoding")]
        no_body = self._status < 200 or self._status in (204, 304)
        if not no_body and all(k != b"content-length" for k, _ in headers):
            if whole_length is not None:
                headers.append((b"content-length", str(whole_length).encode()))
            else:
                headers.append((b"transfer-encoding", b"chunked"))
                self._chunked = True
        headers.append((b"connection", b"keep-alive" if self.keep_alive else b"close"))
        try:
            phrase = HTTPStatus(self._status).phrase
        except ValueError:
            phrase = ""
        lines = [b"HTTP/1.1 %d %s" % (self._status, phrase.encode())]
        lines += [k + b": " + v for k, v in headers]
        self._writer.write(b"\r\n".join(lines) + b"\r\n\r\n")
        self.head_sent = True

    async def fail(self) -> None:
        """Give up on this response: a 500 when nothing went out yet. Either way the
        connection closes afterwards."""
        self.keep_alive = False
        if self.head_sent:
            return
        self._status, self._headers = None, []
        await self.simple(500, b"Internal Server Error", b"text/plain; charset=utf-8")

    async def simple(self, status: int, body: bytes, content_type: bytes) -> None:
        """A whole response in one call (errors, event replies)."""
        self.start(status, [(b"content-type", content_type)])
        await self.body(body, more_body=False)
