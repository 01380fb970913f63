"""``/datasets``: create/amend, list (with ``permission_status``), download CSV, views,
availability."""

from __future__ import annotations

import json
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, HTTPException, Query, Response

from api_app.deps import SignedCaller, State, fresh_signature, not_found, owned_by
from api_app.schemas import DatasetBody, ViewBody
from api_app.series import load_series
from api_app.tables import to_csv
from fishnet_stack.chunks import to_points
from fishnet_stack.errors import DataError
from fishnet_stack.model import Dataset, Execution, ExecutionStatus, Timeseries, View

router = APIRouter(tags=["datasets"])

_RESAMPLE = {"DAY": "5min", "WEEK": "15min", "MONTH": "1h", "THREE_MONTHS": "3h",
             "YEAR": "1D"}


def _dataset(state: State, item_hash: str) -> Dataset:
    found = state.index.get(Dataset, item_hash)
    if found is None:
        raise not_found("dataset", item_hash)
    return found


@router.put("/datasets")
async def put_dataset(body: DatasetBody, state: State, caller: SignedCaller) -> dict[str, Any]:
    """Create a dataset of existing timeseries, or amend your own (``item_hash``)."""
    sig = fresh_signature(state, caller)
    series = state.index.get_many(Timeseries, body.timeseriesIDs)
    missing = set(body.timeseriesIDs) - {ts.item_hash for ts in series}
    if missing:
        raise HTTPException(422, f"unknown timeseries: {', '.join(sorted(missing))}")
    owns_all = all(ts.owner.lower() == caller.address.lower() for ts in series)
    if body.item_hash is None:
        dataset = Dataset(name=body.name, owner=caller.address, ownsAllTimeseries=owns_all,
                          timeseriesIDs=body.timeseriesIDs)
    else:
        dataset = owned_by(_dataset(state, body.item_hash), "owner", caller)
        dataset.name, dataset.timeseriesIDs = body.name, body.timeseriesIDs
        dataset.ownsAllTimeseries = owns_all
    dataset.desc = body.desc if body.desc is not None else dataset.desc
    dataset.price = body.price if body.price is not None else dataset.price
    dataset.signatureHash = sig
    return (await state.save(dataset)).model_dump(mode="json")


@router.get("/datasets")
async def list_datasets(state: State, view_as: str | None = None, by: str | None = None,
                        page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
                        page_size: Annotated[int, Query(ge=1, le=1000)] = 20) -> Response:
    """Datasets, newest first (``by``: of one owner); with ``view_as``, each carries the
    ``permission_status`` of that address."""
    bodies = state.index.bodies(Dataset, {"owner": by}, limit=page_size,
                                offset=(page - 1) * page_size)
    if view_as is not None:
        access = state.access
        items = []
        for body in bodies:
            dataset = Dataset.model_validate_json(body)
            items.append(json.dumps({**json.loads(body), "permission_status":
                                     access.dataset_status(view_as, dataset)}))
        bodies = items
    return Response("[" + ",".join(bodies) + "]", media_type="application/json")


@router.get("/datasets/{item_hash}")
async def get_dataset(item_hash: str, state: State) -> dict[str, Any]:
    return _dataset(state, item_hash).model_dump(mode="json")


@router.get("/datasets/{item_hash}/timeseries/csv")
async def dataset_csv(item_hash: str, state: State, caller: SignedCaller) -> Response:
    """The dataset's values as CSV; 403 unless the caller may download every timeseries."""
    dataset = _dataset(state, item_hash)
    series = state.index.get_many(Timeseries, dataset.timeseriesIDs)
    refused = [ts.item_hash for ts in series
               if not state.access.may_download(caller.address, dataset, ts)]
    if refused:
        listed = ", ".join(map(str, refused))
        raise HTTPException(403, f"no permission to download timeseries {listed} of this "
                                 "dataset; request access first")
    try:
        columns = {_column(ts, series): await load_series(state, ts) for ts in series}
    except DataError as exc:
        raise HTTPException(503, f"cannot read the data: {exc}") from exc
    return Response(to_csv(columns), media_type="text/csv")


def _column(ts: Timeseries, series: list[Timeseries]) -> str:
    clash = sum(1 for other in series if other.name == ts.name) > 1
    return f"{ts.name} ({ts.item_hash})" if clash else ts.name


@router.get("/datasets/{item_hash}/views")
async def get_views(item_hash: str, state: State) -> list[dict[str, Any]]:
    dataset = _dataset(state, item_hash)
    return [v.model_dump(mode="json")
            for v in state.index.get_many(View, dataset.viewIDs or [])]


@router.put("/datasets/{item_hash}/views")
async def put_views(item_hash: str, body: list[ViewBody], state: State,
                    caller: SignedCaller) -> dict[str, Any]:
    """Public previews of your dataset: windowed, min-max normalised, resampled by
    granularity. Replaces the dataset's views."""
    sig = fresh_signature(state, caller)
    dataset = owned_by(_dataset(state, item_hash), "owner", caller)
    views = []
    for request in body:
        unknown = set(request.timeseriesIDs) - set(dataset.timeseriesIDs)
        if unknown:
            raise HTTPException(422, f"not in this dataset: {', '.join(sorted(unknown))}")
        values: dict[str, list[list[float]]] = {}
        for ts in state.index.get_many(Timeseries, request.timeseriesIDs):
            series = await load_series(state, ts, request.startTime, request.endTime)
            values[str(ts.item_hash)] = _preview(series, request.granularity.value,
                                                 request.normalize)
        view = View(startTime=request.startTime or 0, endTime=request.endTime or 0,
                    granularity=request.granularity, columns=list(values),
                    values={k: [(p[0], p[1]) for p in v] for k, v in values.items()})
        views.append(await state.save(view))
    dataset.viewIDs = [str(v.item_hash) for v in views]
    dataset.signatureHash = sig
    saved = await state.save(dataset)
    return {"dataset": saved.model_dump(mode="json"),
            "views": [v.model_dump(mode="json") for v in views]}


def _preview(series: pd.Series, granularity: str, normalize: bool) -> list[list[float]]:
    if series.empty:
        return []
    sampled = series.resample(_RESAMPLE[granularity]).mean().dropna()
    if normalize:
        low, high = sampled.min(), sampled.max()
        sampled = (sampled - low) / (high - low) if high > low else sampled * 0.0
    return to_points(sampled)


@router.put("/datasets/{item_hash}/available/{available}")
async def set_available(item_hash: str, available: bool, state: State,
                        caller: SignedCaller) -> dict[str, Any]:
    """Owner only. Making a dataset unavailable denies its waiting executions."""
    sig = fresh_signature(state, caller)
    dataset = owned_by(_dataset(state, item_hash), "owner", caller)
    dataset.available = available
    dataset.signatureHash = sig
    saved = await state.save(dataset)
    if not available:
        for execution in state.index.find(Execution, datasetID=item_hash):
            if execution.status in (ExecutionStatus.PENDING, ExecutionStatus.REQUESTED):
                execution.status = ExecutionStatus.DENIED
                await state.save(execution)
    return saved.model_dump(mode="json")
