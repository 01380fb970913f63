"""The record layer: save, fetch, filter, revisions and forget over one node and channel.

A :class:`Records` is bound to an :class:`~fishnet_stack.aleph.client.AlephClient` (whose
account signs), a channel and an owner address: records are posted *on behalf of* the owner
(``content.address``; the signing key must be the owner or authorised in its ``security``
aggregate) and reads return only records whose ``content.address`` is the owner. Reads go
through ``messages.json`` so that every revision's real sender is known, page through
everything, and merge amends themselves (indices follow amends, unlike aars).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable
from typing import Any, TypeVar

from pydantic import ValidationError

from fishnet_stack.aleph.client import AlephClient
from fishnet_stack.errors import RecordError
from fishnet_stack.records import wire
from fishnet_stack.records.base import Record
from fishnet_stack.records.query import matches, parse_filter

__all__ = ["Records"]

R = TypeVar("R", bound=Record)

# Hashes per messages.json request: keeps query strings well under common URL limits.
_BATCH = 100


class Records:
    """Records of one channel and owner, read and written through ``aleph``."""

    def __init__(self, aleph: AlephClient, channel: str, owner: str | None = None) -> None:
        if owner is None and aleph.account is None:
            raise RecordError("Records needs an owner address or a client with an account")
        self.aleph = aleph
        self.channel = channel
        self.owner = owner or (aleph.account.address if aleph.account else "")

    # -- writes ------------------------------------------------------------------------------

    async def save(self, record: R) -> R:
        """Create ``record`` (no ``item_hash`` yet) or amend it; returns it updated in place.

        The POST is sent with ``sync=True``; once this returns, the node has processed it.
        Raises :class:`~fishnet_stack.errors.MessageRejected` when the node refuses it (the
        signer is not authorised for the owner, or an amend changes the owner) and
        :class:`~fishnet_stack.errors.NodeUnavailable` when retries are exhausted; the record
        is then left unchanged.
        """
        now = time.time()
        if record.item_hash is None:
            content = wire.create_content(type(record).post_type(), record.content(),
                                          self.owner, now)
        else:
            content = wire.amend_content(record.item_hash, record.content(), self.owner, now)
        signed = await self.aleph.submit("POST", content, self.channel)
        if record.item_hash is None:
            record.item_hash = signed.item_hash
            record.revision_hashes = [signed.item_hash]
        else:
            record.revision_hashes = [*(record.revision_hashes or [record.item_hash]),
                                      signed.item_hash]
        record.timestamp = float(signed.content["time"])
        record.signer = str(signed.wire["sender"])
        return record

    async def forget(self, record: Record) -> None:
        """Forget ``record``: a FORGET of its original and every amend (sent ``sync=True``).

        Raises :class:`RecordError` if it was never saved; node errors as :meth:`save`.
        """
        if record.item_hash is None:
            raise RecordError(f"{type(record).__name__} was never saved: nothing to forget")
        hashes = [record.item_hash, *record.revision_hashes]
        async for message in self.aleph.messages(msgTypes="POST", refs=record.item_hash,
                                                 channels=self.channel):
            hashes.append(str(message["item_hash"]))
        await self.aleph.submit("FORGET", wire.forget_content(hashes, self.owner, time.time()),
                                self.channel)

    # -- reads -------------------------------------------------------------------------------

    async def fetch(self, record_type: type[R], item_hash: str) -> R | None:
        """The current state of record ``item_hash``, or None when there is none of this
        class and owner in the channel (unknown, forgotten, or not valid for the class)."""
        found = await self.fetch_many(record_type, [item_hash])
        return found[0] if found else None

    async def fetch_many(self, record_type: type[R], item_hashes: Iterable[str]) -> list[R]:
        """The current state of each of ``item_hashes`` that exists, in the order given."""
        wanted = list(dict.fromkeys(item_hashes))
        originals: list[wire.Revision] = []
        for start in range(0, len(wanted), _BATCH):
            batch = ",".join(wanted[start:start + _BATCH])
            originals += await self._revisions(hashes=batch)
        return await self._assemble(record_type, originals, wanted)

    async def all(self, record_type: type[R]) -> list[R]:
        """Every record of ``record_type`` of the owner in the channel, oldest first."""
        originals = await self._revisions(contentTypes=record_type.post_type())
        return await self._assemble(record_type, originals, None)

    async def filter(self, record_type: type[R], **query: Any) -> list[R]:
        """Records of ``record_type`` whose *current* state matches ``query`` (see
        :mod:`fishnet_stack.records.query`). Raises :class:`~fishnet_stack.errors.QueryError`
        for a field outside the declared indices."""
        conditions = parse_filter(record_type, query)
        return [r for r in await self.all(record_type) if matches(r, conditions)]

    async def revisions(self, record_type: type[R], item_hash: str) -> list[R]:
        """Every revision of record ``item_hash``, the original first; empty when unknown."""
        originals = await self._revisions(hashes=item_hash)
        if not originals:
            return []
        chain = wire.ordered(originals[0], await self._amends([item_hash]))
        result = []
        for end in range(1, len(chain) + 1):
            try:
                result.append(record_type.from_revisions(chain[:end]))
            except ValidationError:
                continue
        return result

    async def _revisions(self, **filters: Any) -> list[wire.Revision]:
        found = []
        async for message in self.aleph.messages(msgTypes="POST", channels=self.channel,
                                                 owners=self.owner, **filters):
            revision = wire.parse_revision(message)
            if revision is not None and revision.address == self.owner:
                found.append(revision)
        return found

    async def _amends(self, record_ids: list[str]) -> list[wire.Revision]:
        if len(record_ids) > 2 * _BATCH:  # cheaper to read every amend of the channel
            return [r for r in await self._revisions(contentTypes=wire.AMEND) if r.is_amend]
        amends: list[wire.Revision] = []
        for start in range(0, len(record_ids), _BATCH):
            amends += [r for r in await self._revisions(
                contentTypes=wire.AMEND, refs=",".join(record_ids[start:start + _BATCH]))
                if r.is_amend]
        return amends

    async def _assemble(self, record_type: type[R], originals: list[wire.Revision],
                        order: list[str] | None) -> list[R]:
        kind = record_type.post_type()
        heads = {r.item_hash: r for r in originals if not r.is_amend and r.post_type == kind}
        by_record: dict[str, list[wire.Revision]] = defaultdict(list)
        for amend in await self._amends(list(heads)) if heads else []:
            by_record[amend.record_id].append(amend)
        records: dict[str, R] = {}
        for item_hash, original in heads.items():
            try:
                records[item_hash] = record_type.from_revisions(
                    wire.ordered(original, by_record[item_hash]))
            except ValidationError:
                continue  # not a valid record of this class: ignored, as aars would fail it
        keys = order if order is not None else list(heads)
        return [records[k] for k in keys if k in records]
