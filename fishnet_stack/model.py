"""The Fishnet records (DESIGN section 6.1), with the original field names, camelCase included.

Each class is a :class:`~fishnet_stack.records.Record`: its fields are the POST content, its
``indices`` the fields :meth:`Records.filter` accepts. Times in records are Unix seconds.

Fields added to the original: ``Timeseries.chunks`` / ``count`` (values live in Parquet chunks;
an old Timeseries with inline ``data`` still loads and serves it), ``Algorithm.environment`` /
``lookback``, ``Execution.release`` / ``slices`` / ``inputs`` (section 7.1), ``Result.slice`` /
``status`` / ``error`` / ``dataHash`` / ``format`` (partial results, section 7.2), the ``Claim``
record, and ``signatureHash`` on records the API writes (section 6.4: a write replayed to
another API instance is refused once its hash is indexed).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict

from fishnet_stack.chunks import ChunkRef, normalise
from fishnet_stack.records.base import Record

__all__ = [
    "RECORD_TYPES",
    "Algorithm",
    "ChunkRef",
    "Claim",
    "Dataset",
    "DatasetPermissionStatus",
    "Execution",
    "ExecutionStatus",
    "Granularity",
    "Input",
    "Permission",
    "PermissionStatus",
    "Result",
    "Slice",
    "Timeseries",
    "UserInfo",
    "View",
    "inline_series",
]


class UserInfo(Record):
    indices = (("address",),)

    username: str
    address: str
    bio: str | None = None
    email: str | None = None
    link: str | None = None
    signatureHash: str | None = None


class Timeseries(Record):
    """A named series of one owner; values in ``chunks`` (or, for old records, ``data``)."""

    indices = (("owner",),)

    name: str
    owner: str
    desc: str | None = None
    available: bool = True
    min: float | None = None
    max: float | None = None
    avg: float | None = None
    std: float | None = None
    median: float | None = None
    count: int = 0
    chunks: list[ChunkRef] = []
    data: list[tuple[float, float]] | None = None
    signatureHash: str | None = None


def inline_series(timeseries: Timeseries) -> pd.Series | None:
    """The values of an old Timeseries that carries them inline, else None."""
    if timeseries.data is None or timeseries.chunks:
        return None
    return normalise(timeseries.data)


class Granularity(StrEnum):
    DAY = "DAY"
    WEEK = "WEEK"
    MONTH = "MONTH"
    THREE_MONTHS = "THREE_MONTHS"
    YEAR = "YEAR"


class View(Record):
    startTime: int
    endTime: int
    granularity: Granularity
    columns: list[str] = []
    values: dict[str, list[tuple[float, float]]] = {}


class Dataset(Record):
    indices = (("owner",), ("timeseriesIDs",))

    name: str
    owner: str
    ownsAllTimeseries: bool
    available: bool = True
    timeseriesIDs: list[str]
    desc: str | None = None
    viewIDs: list[str] | None = None
    price: str | None = None
    signatureHash: str | None = None


class Algorithm(Record):
    indices = (("owner",), ("name",))

    name: str
    desc: str
    owner: str
    code: str
    environment: str = "pandas"
    lookback: str | None = None
    signatureHash: str | None = None


class ExecutionStatus(StrEnum):
    REQUESTED = "REQUESTED"
    PENDING = "PENDING"
    DENIED = "DENIED"
    RUNNING = "RUNNING"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"


class Slice(BaseModel):
    """A time slice ``[start, end)`` in Unix seconds; None is an open end."""

    model_config = ConfigDict(extra="forbid")

    start: float | None = None
    end: float | None = None


class Input(BaseModel):
    """What an execution reads of one timeseries: the revision it saw and its chunks."""

    model_config = ConfigDict(extra="allow")

    timeseriesID: str
    revision: str
    chunks: list[ChunkRef] = []
    inline: bool = False


class Execution(Record):
    indices = (("datasetID",), ("owner",), ("status",), ("algorithmID",))

    algorithmID: str
    datasetID: str
    owner: str
    status: ExecutionStatus = ExecutionStatus.REQUESTED
    resultID: str | None = None
    params: dict[str, Any] | None = None
    release: int | None = None
    slices: list[Slice] = []
    inputs: list[Input] = []
    signatureHash: str | None = None


class PermissionStatus(StrEnum):
    REQUESTED = "REQUESTED"
    GRANTED = "GRANTED"
    DENIED = "DENIED"


class DatasetPermissionStatus(StrEnum):
    NOT_REQUESTED = "NOT REQUESTED"
    REQUESTED = "REQUESTED"
    GRANTED = "GRANTED"
    DENIED = "DENIED"


class Permission(Record):
    """Access of ``requestor`` to a dataset (``timeseriesID`` None) or one of its timeseries,
    granted by ``authorizer`` (the timeseries' owner); ``algorithmID`` scopes it to one
    algorithm (never downloads); ``maxExecutionCount`` caps executions (None: no cap).
    ``executionCount`` is kept for the original's format: counts come from Execution records."""

    indices = (("requestor",), ("authorizer",), ("datasetID",), ("timeseriesID",),
               ("status",))

    authorizer: str
    requestor: str
    datasetID: str
    timeseriesID: str | None = None
    algorithmID: str | None = None
    status: PermissionStatus = PermissionStatus.REQUESTED
    executionCount: int = 0
    maxExecutionCount: int | None = None
    signatureHash: str | None = None


class Result(Record):
    """A result of an execution: a partial one per slice (``slice`` set) and the final one
    (``slice`` None). Data is inline JSON (``data``) or a STORE (``dataHash``, ``format``
    ``"parquet"`` or ``"json"``)."""

    indices = (("executionID",), ("owner",))

    executionID: str
    owner: str
    executorVM: str | None = None
    data: Any = None
    slice: int | None = None
    status: str = "SUCCESS"
    error: str | None = None
    dataHash: str | None = None
    format: str | None = None


class Claim(Record):
    """An executor's claim of one slice of an execution, valid until ``expires`` (Unix s)."""

    indices = (("executionID",),)

    executionID: str
    slice: int
    executor: str
    expires: float


RECORD_TYPES: dict[str, type[Record]] = {
    cls.post_type(): cls
    for cls in (UserInfo, Timeseries, View, Dataset, Algorithm, Execution, Permission, Result,
                Claim)
}
