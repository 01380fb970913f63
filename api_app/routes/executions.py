"""``/executions`` and ``/results``: request a run, follow it, read its result.

A new execution is PENDING when the caller may already run the algorithm on every timeseries,
REQUESTED (with the permission requests it created) otherwise, DENIED when data is
unavailable. It is stamped with the release, slices and inputs (DESIGN section 7.1).
"""

from __future__ import annotations

import hashlib
import io
import json
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, HTTPException, Query, Response

from api_app.deps import Caller, SignedCaller, State, fresh_signature, not_found
from api_app.schemas import ExecutionBody
from api_app.state import ApiState
from fishnet_stack.model import (
    Algorithm,
    Dataset,
    Execution,
    ExecutionStatus,
    Input,
    Permission,
    PermissionStatus,
    Result,
    Timeseries,
)

router = APIRouter(tags=["executions"])


def stamp_inputs(series: list[Timeseries]) -> list[Input]:
    """What an execution reads: each timeseries' current revision and chunks."""
    return [Input(timeseriesID=str(ts.item_hash), revision=ts.revision_hashes[-1],
                  chunks=ts.chunks, inline=ts.data is not None and not ts.chunks)
            for ts in series]


@router.post("/executions")
async def request_execution(body: ExecutionBody, state: State,
                            caller: SignedCaller) -> dict[str, Any]:
    sig = fresh_signature(state, caller)
    dataset = state.index.get(Dataset, body.datasetID)
    if dataset is None:
        raise not_found("dataset", body.datasetID)
    if state.index.get(Algorithm, body.algorithmID) is None:
        raise not_found("algorithm", body.algorithmID)
    series = state.index.get_many(Timeseries, dataset.timeseriesIDs)
    unavailable = [ts for ts in series if not ts.available]
    release, slices = await state.stamp()
    execution = Execution(algorithmID=body.algorithmID, datasetID=body.datasetID,
                          owner=caller.address, params=body.params, release=release,
                          slices=slices, inputs=stamp_inputs(series), signatureHash=sig)
    requests: list[Permission] = []
    if unavailable or not dataset.available:
        execution.status = ExecutionStatus.DENIED
    else:
        lacking = [ts for ts in series
                   if not state.access.may_execute(caller.address, dataset, ts,
                                                   body.algorithmID)]
        execution.status = ExecutionStatus.REQUESTED if lacking else ExecutionStatus.PENDING
        for ts in lacking:
            requests.append(await _request_for(state, caller, dataset, ts, body.algorithmID,
                                               sig))
    saved = await state.save(execution)
    return {"execution": saved.model_dump(mode="json"),
            "permissionRequests": [p.model_dump(mode="json") for p in requests],
            "unavailableTimeseries": [t.model_dump(mode="json", exclude={"data"})
                                      for t in unavailable]}


async def _request_for(state: ApiState, caller: Caller, dataset: Dataset, ts: Timeseries,
                       algorithm_id: str, sig: str) -> Permission:
    """The caller's open request for ``ts`` and this algorithm, created when absent."""
    for permission in state.index.find(Permission, requestor=caller.address,
                                       timeseriesID=ts.item_hash,
                                       status=PermissionStatus.REQUESTED.value):
        if permission.algorithmID == algorithm_id:
            return permission
    return await state.save(Permission(
        authorizer=ts.owner, requestor=caller.address, datasetID=str(dataset.item_hash),
        timeseriesID=ts.item_hash, algorithmID=algorithm_id, signatureHash=sig))


@router.get("/executions")
async def list_executions(state: State, dataset_id: str | None = None, by: str | None = None,
                          status: ExecutionStatus | None = None,
                          page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
                          page_size: Annotated[int, Query(ge=1, le=1000)] = 100,
                          ) -> list[dict[str, Any]]:
    found = state.index.bodies(Execution, {"datasetID": dataset_id, "owner": by,
                                           "status": status.value if status else None},
                               limit=page_size, offset=(page - 1) * page_size)
    return [Execution.model_validate_json(b).model_dump(mode="json") for b in found]


@router.get("/executions/{item_hash}")
async def get_execution(item_hash: str, state: State) -> dict[str, Any]:
    found = state.index.get(Execution, item_hash)
    if found is None:
        raise not_found("execution", item_hash)
    return found.model_dump(mode="json")


def _readable(state: ApiState, result: Result, caller: Caller) -> dict[str, Any]:
    """A result for its execution's requester and the owners of the data it used."""
    execution = state.index.get(Execution, result.executionID)
    allowed = {result.owner.lower()}
    if execution is not None:
        allowed.add(execution.owner.lower())
        ids = [i.timeseriesID for i in execution.inputs]
        allowed |= {ts.owner.lower() for ts in state.index.get_many(Timeseries, ids)}
    if caller.address.lower() not in allowed:
        raise HTTPException(403, "only the execution's requester and the data owners may "
                                 "read this result")
    return result.model_dump(mode="json")


@router.get("/executions/{item_hash}/result", response_model=None)
async def execution_result(item_hash: str, state: State, caller: SignedCaller,
                           format: Literal["json", "parquet"] = "json",
                           ) -> dict[str, Any] | Response:
    """``{"executionID", "status", "kind", "data"}`` (plus ``error``, ``resultID``,
    ``dataHash``, ``isolation``): a frame as ``orient="split"`` with ISO timestamps, a series
    as ``{label: value}``; ``?format=parquet`` gives the stored Parquet bytes instead."""
    execution = state.index.get(Execution, item_hash)
    if execution is None:
        raise not_found("execution", item_hash)
    finals = [r for r in state.index.find(Result, executionID=item_hash) if r.slice is None]
    if execution.resultID:
        finals = state.index.get_many(Result, [execution.resultID]) or finals
    if not finals:
        raise HTTPException(404, f"execution {item_hash} has no result yet "
                                 f"(status {execution.status.value})")
    result = finals[0]
    _readable(state, result, caller)
    kind, raw = await result_payload(state, result)
    if format == "parquet":
        if result.format != "parquet" or raw is None:
            raise HTTPException(400, f"this result is {kind}, not a table: ask without "
                                     "format=parquet")
        return Response(raw, media_type="application/vnd.apache.parquet")
    return {"executionID": item_hash, "status": result.status, "kind": kind,
            "data": result_json(kind, raw, result.data), "error": result.error,
            "resultID": result.item_hash, "dataHash": result.dataHash,
            "isolation": getattr(result, "isolation", None)}


async def result_payload(state: ApiState, result: Result) -> tuple[str, bytes | None]:
    """The result's kind and stored bytes (None when the data is inline, as the original
    Fishnet stored it)."""
    kind = str(getattr(result, "kind", None) or ("json" if result.format != "parquet"
                                                  else "dataframe"))
    if not result.dataHash:
        return kind, None
    raw = await state.aleph.download(result.dataHash)
    if raw is None or hashlib.sha256(raw).hexdigest() != result.dataHash:
        raise HTTPException(502, f"result data {result.dataHash} is not available on the node")
    return kind, raw


def result_json(kind: str, raw: bytes | None, inline: Any) -> Any:
    if raw is None:
        return inline
    if kind == "dataframe":
        frame = pd.read_parquet(io.BytesIO(raw))
        return json.loads(frame.to_json(orient="split", date_format="iso", date_unit="ns"))
    if kind == "series":
        frame = pd.read_parquet(io.BytesIO(raw))
        return json.loads(frame.iloc[:, 0].to_json(date_format="iso", date_unit="ns"))
    return json.loads(raw)


@router.get("/results/{item_hash}")
async def get_result(item_hash: str, state: State, caller: SignedCaller) -> dict[str, Any]:
    found = state.index.get(Result, item_hash)
    if found is None:
        raise not_found("result", item_hash)
    return _readable(state, found, caller)
