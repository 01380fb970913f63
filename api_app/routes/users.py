"""``/users``: profiles (public read, signed write of your own) and each user's permission
lists and notifications."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from api_app.deps import SignedCaller, State, fresh_signature, not_found
from api_app.schemas import UserBody
from fishnet_stack.model import Permission, PermissionStatus, UserInfo

router = APIRouter(tags=["users"])


@router.get("/users")
async def list_users(state: State, page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
                     page_size: Annotated[int, Query(ge=1, le=1000)] = 100) -> Response:
    bodies = state.index.bodies(UserInfo, limit=page_size, offset=(page - 1) * page_size)
    return Response("[" + ",".join(bodies) + "]", media_type="application/json")


@router.put("/users")
async def put_user(body: UserBody, state: State, caller: SignedCaller) -> dict[str, Any]:
    """Create or update the caller's own profile."""
    sig = fresh_signature(state, caller)
    existing = _user(state, caller.address)
    user = existing or UserInfo(username=body.username, address=caller.address)
    for name, value in body.model_dump().items():
        setattr(user, name, value)
    user.signatureHash = sig
    return (await state.save(user)).model_dump(mode="json")


def _user(state: State, address: str) -> UserInfo | None:
    found = [u for u in state.index.find(UserInfo, address=address)
             if u.address.lower() == address.lower()]
    return found[0] if found else None


@router.get("/users/{address}")
async def get_user(address: str, state: State) -> dict[str, Any]:
    user = _user(state, address)
    if user is None:
        raise not_found("user", address)
    return user.model_dump(mode="json")


@router.get("/users/{address}/permissions/incoming")
async def incoming(address: str, state: State) -> list[dict[str, Any]]:
    """Permissions the user authorizes (requests to them, and what they granted)."""
    return [p.model_dump(mode="json") for p in state.index.find(Permission, authorizer=address)]


@router.get("/users/{address}/permissions/outgoing")
async def outgoing(address: str, state: State) -> list[dict[str, Any]]:
    """Permissions the user asked for or was given."""
    return [p.model_dump(mode="json") for p in state.index.find(Permission, requestor=address)]


@router.get("/users/{address}/notifications")
async def notifications(address: str, state: State) -> list[dict[str, Any]]:
    """One notification per open permission request addressed to the user."""
    waiting = state.index.find(Permission, authorizer=address,
                               status=PermissionStatus.REQUESTED.value)
    return [{"type": "PermissionRequest", "permissionID": p.item_hash,
             "requestor": p.requestor, "datasetID": p.datasetID,
             "timeseriesID": p.timeseriesID, "algorithmID": p.algorithmID,
             "uses": p.maxExecutionCount,
             "message_text": f"{p.requestor} requests access to dataset {p.datasetID}"}
            for p in waiting]
