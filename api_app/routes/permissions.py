"""``/permissions``: request access, grant it directly, approve or deny requests (DESIGN 6.5).

The authorizer of a permission is always the owner of the timeseries it covers; a request for
a whole multi-owner dataset creates one permission per owner (``timeseriesID`` None: that
owner's timeseries in the dataset). Approving promotes the requestor's waiting executions that
are now allowed to PENDING; denying denies the requestor's waiting executions on the dataset.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException

from api_app.deps import Caller, SignedCaller, State, fresh_signature, not_found
from api_app.schemas import GrantBody, PermissionRequestBody
from api_app.state import ApiState
from fishnet_stack.model import (
    Dataset,
    Execution,
    ExecutionStatus,
    Permission,
    PermissionStatus,
    Timeseries,
)

router = APIRouter(tags=["permissions"])


def _dataset_series(state: ApiState, dataset_id: str,
                    ids: list[str] | None) -> tuple[Dataset, list[Timeseries]]:
    dataset = state.index.get(Dataset, dataset_id)
    if dataset is None:
        raise not_found("dataset", dataset_id)
    wanted = ids if ids is not None else dataset.timeseriesIDs
    outside = set(wanted) - set(dataset.timeseriesIDs)
    if outside:
        raise HTTPException(422, f"not in dataset {dataset_id}: {', '.join(sorted(outside))}")
    return dataset, state.index.get_many(Timeseries, wanted)


@router.put("/permissions/datasets/{dataset_id}/request")
async def request_permissions(dataset_id: str, body: PermissionRequestBody, state: State,
                              caller: SignedCaller) -> list[dict[str, Any]]:
    """Ask each owner of the dataset's (or the listed) timeseries for access."""
    sig = fresh_signature(state, caller)
    dataset, series = _dataset_series(state, dataset_id, body.timeseriesIDs)
    created = []
    owners = sorted({ts.owner for ts in series if ts.owner.lower() != caller.address.lower()})
    for owner in owners:
        mine = [ts for ts in series if ts.owner == owner]
        targets: list[str | None] = ([None] if body.timeseriesIDs is None
                                     else [ts.item_hash for ts in mine])
        for timeseries_id in targets:
            created.append(await state.save(Permission(
                authorizer=owner, requestor=caller.address, datasetID=dataset_id,
                timeseriesID=timeseries_id, algorithmID=body.algorithmID,
                maxExecutionCount=body.requestedExecutionCount, signatureHash=sig)))
    return [p.model_dump(mode="json") for p in created]


@router.put("/permissions/datasets/{dataset_id}/grant")
async def grant_permissions(dataset_id: str, body: GrantBody, state: State,
                            caller: SignedCaller) -> list[dict[str, Any]]:
    """Grant ``requestor`` access to your timeseries of the dataset (all, or those listed)."""
    sig = fresh_signature(state, caller)
    dataset, series = _dataset_series(state, dataset_id, body.timeseriesIDs)
    mine = [ts for ts in series if ts.owner.lower() == caller.address.lower()]
    if not mine or (body.timeseriesIDs is not None and len(mine) < len(series)):
        raise HTTPException(403, "you can grant access only to timeseries you own")
    targets: list[str | None] = ([None] if body.timeseriesIDs is None
                                 else [ts.item_hash for ts in mine])
    granted = []
    for timeseries_id in targets:
        granted.append(await state.save(Permission(
            authorizer=caller.address, requestor=body.requestor, datasetID=dataset_id,
            timeseriesID=timeseries_id, algorithmID=body.algorithmID,
            status=PermissionStatus.GRANTED, maxExecutionCount=body.maxExecutionCount,
            signatureHash=sig)))
    await _promote(state, body.requestor, dataset_id)
    return [p.model_dump(mode="json") for p in granted]


async def _decide(state: ApiState, caller: Caller, ids: list[str],
                  status: PermissionStatus) -> list[Permission]:
    sig = fresh_signature(state, caller)
    if not ids or len(ids) > 1000:
        raise HTTPException(422, "give between 1 and 1000 permission ids")
    permissions = []
    for item_hash in ids:
        found = state.index.get(Permission, item_hash)
        if found is None:
            raise not_found("permission", item_hash)
        if found.authorizer.lower() != caller.address.lower():
            raise HTTPException(403, f"permission {item_hash} can only be decided by its "
                                     f"authorizer {found.authorizer}")
        permissions.append(found)
    decided = []
    for permission in permissions:
        permission.status = status
        permission.signatureHash = sig
        decided.append(await state.save(permission))
    for permission in decided:
        if status is PermissionStatus.GRANTED:
            await _promote(state, permission.requestor, permission.datasetID)
        else:
            await _deny_waiting(state, permission.requestor, permission.datasetID)
    return decided


@router.put("/permissions/approve")
async def approve(ids: list[str], state: State, caller: SignedCaller) -> list[dict[str, Any]]:
    return [p.model_dump(mode="json")
            for p in await _decide(state, caller, ids, PermissionStatus.GRANTED)]


@router.put("/permissions/deny")
async def deny(ids: list[str], state: State, caller: SignedCaller) -> list[dict[str, Any]]:
    return [p.model_dump(mode="json")
            for p in await _decide(state, caller, ids, PermissionStatus.DENIED)]


async def _promote(state: ApiState, requestor: str, dataset_id: str) -> None:
    """REQUESTED executions of ``requestor`` on the dataset that are now allowed → PENDING."""
    dataset = state.index.get(Dataset, dataset_id)
    if dataset is None or not dataset.available:
        return
    series = state.index.get_many(Timeseries, dataset.timeseriesIDs)
    for execution in state.index.find(Execution, owner=requestor, datasetID=dataset_id,
                                      status=ExecutionStatus.REQUESTED.value):
        if all(state.access.may_execute(requestor, dataset, ts, execution.algorithmID)
               for ts in series):
            execution.status = ExecutionStatus.PENDING
            await state.save(execution)


async def _deny_waiting(state: ApiState, requestor: str, dataset_id: str) -> None:
    for execution in state.index.find(Execution, owner=requestor, datasetID=dataset_id,
                                      status=ExecutionStatus.REQUESTED.value):
        execution.status = ExecutionStatus.DENIED
        await state.save(execution)
