"""Request bodies of the API (``extra="forbid"``: an unknown field is a 422, not ignored)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from fishnet_stack.model import Granularity

__all__ = [
    "AlgorithmBody", "DatasetBody", "ExecutionBody", "GrantBody", "PermissionRequestBody",
    "TimeseriesBody", "TimeseriesItem", "UserBody", "ViewBody",
]

_ID = Field(min_length=1, max_length=128)


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TimeseriesItem(Body):
    item_hash: str | None = Field(default=None, min_length=1, max_length=128)
    name: str = Field(min_length=1, max_length=200)
    desc: str | None = Field(default=None, max_length=10_000)
    data: list[tuple[float, float]] = []


class TimeseriesBody(Body):
    timeseries: list[TimeseriesItem] = Field(min_length=1, max_length=1000)


class DatasetBody(Body):
    item_hash: str | None = Field(default=None, min_length=1, max_length=128)
    name: str = Field(min_length=1, max_length=200)
    desc: str | None = Field(default=None, max_length=10_000)
    timeseriesIDs: list[str] = Field(min_length=1, max_length=1000)
    price: str | None = Field(default=None, pattern=r"^\d+(\.\d+)?$", max_length=40)


class AlgorithmBody(Body):
    item_hash: str | None = Field(default=None, min_length=1, max_length=128)
    name: str = Field(min_length=1, max_length=200)
    desc: str = Field(max_length=10_000)
    code: str = Field(min_length=1, max_length=1_000_000)
    environment: str = Field(default="pandas", pattern=r"^[a-z0-9_.-]{1,40}$")
    lookback: str | None = Field(default=None, max_length=40)


class ExecutionBody(Body):
    algorithmID: str = _ID
    datasetID: str = _ID
    params: dict[str, Any] | None = None


class PermissionRequestBody(Body):
    timeseriesIDs: list[str] | None = None
    algorithmID: str | None = Field(default=None, min_length=1, max_length=128)
    requestedExecutionCount: int | None = Field(default=None, ge=1)


class GrantBody(Body):
    requestor: str = Field(pattern=r"^0x[0-9a-fA-F]{40}$")
    timeseriesIDs: list[str] | None = None
    algorithmID: str | None = Field(default=None, min_length=1, max_length=128)
    maxExecutionCount: int | None = Field(default=None, ge=1)


class UserBody(Body):
    username: str = Field(min_length=1, max_length=100)
    bio: str | None = Field(default=None, max_length=10_000)
    email: str | None = Field(default=None, max_length=320)
    link: str | None = Field(default=None, max_length=2000)


class ViewBody(Body):
    item_hash: str | None = Field(default=None, min_length=1, max_length=128)
    timeseriesIDs: list[str] = Field(min_length=1, max_length=100)
    granularity: Granularity = Granularity.YEAR
    startTime: int | None = None
    endTime: int | None = None
    normalize: bool = True
