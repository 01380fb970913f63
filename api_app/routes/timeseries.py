"""``/timeseries``: create or append (JSON or file upload), preprocess CSV, read metadata."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, UploadFile

from api_app.deps import SignedCaller, State, fresh_signature, not_found, owned_by
from api_app.schemas import TimeseriesBody
from api_app.series import store_series
from api_app.tables import read_table, series_stats, table_columns
from fishnet_stack.chunks import normalise, to_points
from fishnet_stack.errors import DataError
from fishnet_stack.model import Timeseries

router = APIRouter(tags=["timeseries"])

MAX_UPLOAD = 256 * 1024 * 1024


@router.put("/timeseries")
async def put_timeseries(body: TimeseriesBody, state: State,
                         caller: SignedCaller) -> list[dict[str, Any]]:
    """Create timeseries, or append points to your own (``item_hash`` given)."""
    sig = fresh_signature(state, caller)
    targets: list[tuple[Timeseries, Any]] = []
    for item in body.timeseries:
        try:
            points = normalise(item.data)
        except DataError as exc:
            raise HTTPException(422, str(exc)) from exc
        if item.item_hash is None:
            ts = Timeseries(name=item.name, owner=caller.address, desc=item.desc)
        else:
            found = state.index.get(Timeseries, item.item_hash)
            if found is None:
                raise not_found("timeseries", item.item_hash)
            ts = owned_by(found, "owner", caller)
            ts.name, ts.desc = item.name, item.desc if item.desc is not None else ts.desc
        targets.append((ts, points))
    saved = []
    for ts, points in targets:
        ts = await store_series(state, ts, points)
        ts.signatureHash = sig
        saved.append((await state.save(ts)).model_dump(mode="json", exclude={"data"}))
    return saved


async def _uploaded_columns(upload: UploadFile) -> dict[str, Any]:
    """The numeric columns of an uploaded Parquet or CSV table (413 when too large, 422 when
    it is not a usable table)."""
    data = await upload.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise HTTPException(413, f"upload over {MAX_UPLOAD} bytes")
    try:
        return dict(table_columns(read_table(data, upload.filename or "")))
    except DataError as exc:
        raise HTTPException(422, str(exc)) from exc


@router.post("/timeseries/upload")
async def upload_timeseries(state: State, caller: SignedCaller,
                            file: Annotated[UploadFile, File()],
                            desc: Annotated[str | None, Form()] = None,
                            ) -> list[dict[str, Any]]:
    """Create one timeseries per numeric column of an uploaded Parquet or CSV table."""
    sig = fresh_signature(state, caller)
    columns = await _uploaded_columns(file)
    saved = []
    for name, points in columns.items():
        ts = await store_series(state, Timeseries(name=name, owner=caller.address, desc=desc),
                                points)
        ts.signatureHash = sig
        saved.append((await state.save(ts)).model_dump(mode="json", exclude={"data"}))
    return saved


@router.post("/timeseries/csv")
async def preprocess_csv(caller: SignedCaller,
                         data: Annotated[UploadFile, File()]) -> list[dict[str, Any]]:
    """Detect the time column and return one unsaved timeseries per numeric column, with
    its stats (nothing is stored)."""
    columns = await _uploaded_columns(data)
    return [{"name": name, "owner": caller.address, "data": to_points(points),
             **series_stats(points)} for name, points in columns.items()]


@router.get("/timeseries/{item_hash}")
async def get_timeseries(item_hash: str, state: State) -> dict[str, Any]:
    found = state.index.get(Timeseries, item_hash)
    if found is None:
        raise not_found("timeseries", item_hash)
    return found.model_dump(mode="json", exclude={"data"})
