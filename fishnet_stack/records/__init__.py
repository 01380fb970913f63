"""The active-record layer on the aars wire format (DESIGN section 2).

- :mod:`~fishnet_stack.records.wire`: the message contents, pure;
- :class:`Record`: the base of record classes (pydantic; fields = content);
- :class:`Records`: save / fetch / fetch_many / all / filter / revisions / forget on a node.
"""

from fishnet_stack.records.base import META_FIELDS, Record
from fishnet_stack.records.query import Condition, matches, parse_filter
from fishnet_stack.records.store import Records
from fishnet_stack.records.wire import Revision, parse_revision

__all__ = [
    "META_FIELDS",
    "Condition",
    "Record",
    "Records",
    "Revision",
    "matches",
    "parse_filter",
    "parse_revision",
]
