"""The base of every record class: pydantic fields are the record's content, plus metadata.

A subclass declares its fields (original names, camelCase included) and the ``indices`` it may
be filtered on. The metadata fields (``item_hash``, ``revision_hashes``, ``timestamp``,
``signer``) are aars' names; they are never part of the posted content. Unknown fields in
content read from the network are kept (``extra="allow"``), so a record written by a newer
version survives an amend by an older one.
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict

from fishnet_stack.records.wire import Revision

__all__ = ["META_FIELDS", "Record"]

META_FIELDS = frozenset({"item_hash", "revision_hashes", "timestamp", "signer"})


class Record(BaseModel):
    """A record stored as an Aleph POST (see :mod:`fishnet_stack.records.wire`).

    ``item_hash`` is the record id (None until first saved), ``revision_hashes`` the original
    and its amends in order, ``timestamp`` the content time and ``signer`` the sender of the
    current revision.
    """

    model_config = ConfigDict(extra="allow", validate_assignment=True)

    #: Field tuples this class can be filtered on (``Records.filter``).
    indices: ClassVar[tuple[tuple[str, ...], ...]] = ()
    #: Fields fishnet-stack added to the original records: left out of the content while None,
    #: so a record without them is posted exactly as aars posted it.
    omit_when_none: ClassVar[frozenset[str]] = frozenset({"signatureHash"})

    item_hash: str | None = None
    revision_hashes: list[str] = []
    timestamp: float | None = None
    signer: str | None = None

    @classmethod
    def post_type(cls) -> str:
        """The POST type records of this class are created with: the class name (aars)."""
        return cls.__name__

    @classmethod
    def indexed_fields(cls) -> frozenset[str]:
        return frozenset(name for index in cls.indices for name in index)

    def content(self) -> dict[str, Any]:
        """The record's fields as posted (JSON values, declaration order, extras last)."""
        content = self.model_dump(mode="json", exclude=set(META_FIELDS))
        return {k: v for k, v in content.items()
                if not (v is None and k in self.omit_when_none)}

    @classmethod
    def from_revisions(cls, revisions: list[Revision]) -> Self:
        """The record in the state of the last of ``revisions`` (original first).

        Raises pydantic's ``ValidationError`` when that content does not fit the class.
        """
        latest = revisions[-1]
        fields = {k: v for k, v in latest.fields.items() if k not in META_FIELDS}
        return cls(
            **fields, item_hash=latest.record_id,
            revision_hashes=[r.item_hash for r in revisions], timestamp=latest.time,
            signer=latest.sender,
        )
