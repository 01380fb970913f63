"""What one API instance holds while it runs: settings, key, node client, index, verifier.

:meth:`ApiState.start` builds the index (pages ``messages.json``) and keeps it current from
the node's ws0 stream of the channel and of FORGETs; :meth:`ApiState.save` writes a record on
behalf of the owner and indexes it at once, so a write is readable from this instance as soon
as it returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
from dataclasses import dataclass, field
from typing import Any, TypeVar

from api_app.access import Access
from api_app.auth import RequestVerifier
from api_app.index import RecordIndex
from fishnet_stack.aleph.accounts import Account
from fishnet_stack.aleph.client import AlephClient
from fishnet_stack.aleph.security import authorised_addresses
from fishnet_stack.aleph.stream import watch
from fishnet_stack.chunks import ChunkStore
from fishnet_stack.manifest import Manifest, ManifestError, manifest_key
from fishnet_stack.model import Slice
from fishnet_stack.records import Record, Records
from fishnet_stack.timeutil import parse_instant
from fishnet_stack.vm import VmContext, VmSettings

__all__ = ["ApiState", "parse_slices"]

R = TypeVar("R", bound=Record)
log = logging.getLogger("api_app")
_PAGE = 1000


def parse_slices(text: str) -> list[Slice]:
    """Slices from cut points: ``""`` → one open slice; ``"1600000000,1700000000"`` → three
    slices ``(-, a) [a, b) [b, -)``. Cut points are Unix seconds or ISO 8601 times.

    Raises ValueError when a cut point is not a time or they are not increasing.
    """
    cuts = [_seconds(c.strip()) for c in text.split(",") if c.strip()]
    if any(b <= a for a, b in zip(cuts, cuts[1:], strict=False)):
        raise ValueError("slice cut points must be increasing")
    bounds: list[float | None] = [None, *cuts, None]
    return [Slice(start=a, end=b) for a, b in zip(bounds, bounds[1:], strict=False)]


def _bound(text: str | None) -> float | None:
    return None if text is None or text in ("", "..") else _seconds(text)


def _seconds(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return parse_instant(text).timestamp()


@dataclass
class ApiState:
    """The running instance. ``context`` gives settings and the VM key; ``slices`` stamp
    executions (from the manifest when deployed, ``--slices`` standalone)."""

    context: VmContext
    slices: list[Slice]
    verifier: RequestVerifier = field(default_factory=RequestVerifier)
    index: RecordIndex = field(init=False)
    _aleph: AlephClient | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.index = RecordIndex(self.context.settings.owner)

    @property
    def settings(self) -> VmSettings:
        return self.context.settings

    @property
    def aleph(self) -> AlephClient:
        if self._aleph is None:
            raise RuntimeError("the API has not started")
        return self._aleph

    @property
    def access(self) -> Access:
        return Access(self.index)

    @property
    def records(self) -> Records:
        return Records(self.aleph, self.settings.channel, owner=self.settings.owner)

    @property
    def chunks(self) -> ChunkStore:
        return ChunkStore(self.aleph, self.settings.channel, self.settings.owner,
                          cache_dir=self.settings.data_dir / "chunks")

    async def start(self) -> None:
        """Open the node client, build the index, then follow the streams. Raises
        :class:`~fishnet_stack.errors.NodeUnavailable` when the node cannot be read."""
        account = Account(self.context.identity.private_key)
        self._aleph = AlephClient(self.settings.aleph_api, account)
        await self._aleph.__aenter__()
        try:
            await self.refresh_delegates()
            await self.catch_up()
        except BaseException:
            await self.stop()
            raise
        channel = self.settings.channel
        self._tasks = [
            asyncio.create_task(self._follow({"channels": channel, "msgTypes": "POST"})),
            asyncio.create_task(self._follow({"msgTypes": "FORGET"})),
        ]

    async def stamp(self) -> tuple[int, list[Slice]]:
        """The release and slices a new execution is stamped with (DESIGN 7.1): the active
        release of the stack's manifest and its executors' slices; without a manifest (a
        standalone API) the API's own release and ``slices`` settings."""
        raw = await self.aleph.aggregate(self.settings.owner, manifest_key(self.settings.stack))
        try:
            manifest = Manifest.parse(raw) if raw is not None else None
        except ManifestError:
            log.warning("the stack's manifest is malformed; stamping with this API's settings")
            manifest = None
        release = manifest.active_release if manifest is not None else None
        if manifest is None or manifest.active is None or release is None:
            return self.settings.release, self.slices
        bounds = {(_bound(e.start), _bound(e.end)) for e in release.executors}
        slices = [Slice(start=a, end=b) for a, b in
                  sorted(bounds, key=lambda b: -math.inf if b[0] is None else b[0])]
        return manifest.active, slices or self.slices

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._aleph is not None:
            await self._aleph.__aexit__(None, None, None)
            self._aleph = None

    async def catch_up(self) -> None:
        """Page every record POST of the channel into the index (idempotent). The next page
        is requested while the previous one is being indexed."""
        pages: asyncio.Queue[list[dict[str, Any]] | None] = asyncio.Queue()

        async def fetch() -> None:
            batch: list[dict[str, Any]] = []
            try:
                async for message in self.aleph.messages(page_size=_PAGE, msgTypes="POST",
                                                         channels=self.settings.channel):
                    batch.append(message)
                    if len(batch) == _PAGE:
                        pages.put_nowait(batch)
                        batch = []
                pages.put_nowait(batch)
            finally:
                pages.put_nowait(None)

        producer = asyncio.create_task(fetch())
        unknown: list[dict[str, Any]] = []
        while (batch := await pages.get()) is not None:
            unknown += [dict(m) for m in self.index.load(batch)]
        await producer  # re-raises what stopped the paging, if anything did
        if unknown:
            await self.refresh_delegates()
            self.index.load(unknown)

    async def refresh_delegates(self) -> None:
        """Delegates = every address the owner's ``security`` aggregate ever authorised for
        this channel (records they wrote while authorised stay valid after a rotation)."""
        owner, channel = self.settings.owner, self.settings.channel
        delegates = set(self.index.delegates)
        async for message in self.aleph.messages(msgTypes="AGGREGATE", addresses=owner):
            content = message.get("content") or {}
            if not isinstance(content, dict) or content.get("key") != "security":
                continue
            body = content.get("content") or {}
            if isinstance(body, dict):
                delegates |= authorised_addresses(body.get("authorizations"), channel)
        self.index.delegates = delegates

    async def ingest(self, message: dict[str, Any]) -> None:
        """Index one message; an owner's record from an unknown sender triggers a re-read of
        the delegates first (a VM authorised after this instance started)."""
        if self.index.apply(message):
            return
        content = message.get("content")
        sender = str(message.get("sender", "")).lower()
        if (message.get("type") == "POST" and isinstance(content, dict)
                and str(content.get("address", "")).lower() == self.settings.owner.lower()
                and sender not in self.index.delegates):
            await self.refresh_delegates()
            self.index.apply(message)

    async def _follow(self, filters: dict[str, str]) -> None:
        """Index the stream matching ``filters`` until cancelled; a failed catch-up (node
        down) or a message that cannot be indexed is logged, never fatal."""
        while True:
            try:
                async for message in watch(self.settings.aleph_api, filters,
                                           on_connect=self.catch_up):
                    try:
                        await self.ingest(message)
                    except Exception:  # one bad message must not stop the index
                        log.exception("cannot index message %s", message.get("item_hash"))
            except Exception:  # the catch-up after a reconnect failed: reconnect again
                log.exception("following %s failed; reconnecting", filters)
                await asyncio.sleep(1.0)

    async def save(self, record: R) -> R:
        """Save ``record`` for the owner (create or amend) and index it at once."""
        saved = await self.records.save(record)
        assert saved.item_hash is not None
        self.index.apply({
            "type": "POST", "item_hash": saved.revision_hashes[-1],
            "sender": self.context.identity.address, "channel": self.settings.channel,
            "content": json.loads(json.dumps(_post_content(saved, self.settings.owner))),
        })
        return saved


def _post_content(record: Record, owner: str) -> dict[str, Any]:
    content: dict[str, Any] = {"address": owner, "time": record.timestamp,
                               "content": record.content(), "type": type(record).post_type()}
    if len(record.revision_hashes) > 1:
        content.update(ref=record.item_hash, type="amend")
    return content
