"""Request-scoped helpers shared by the routers: the instance state, the signed caller, errors.

Every write and every data or result read takes :func:`signed_caller`; a write additionally
calls :func:`fresh_signature` so that a request replayed to another instance is refused once
the record it produced is indexed there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, HTTPException, Request

from api_app.auth import Unauthorized, signature_hash
from api_app.body import BODY_KEY
from api_app.state import ApiState
from fishnet_stack.records import Record

__all__ = ["Caller", "SignedCaller", "State", "fresh_signature", "get_state", "not_found",
           "owned_by", "signed_caller"]

R = TypeVar("R", bound=Record)


def get_state(request: Request) -> ApiState:
    state: ApiState = request.app.state.api
    return state


@dataclass(frozen=True)
class Caller:
    """The verified address of a signed request and its signature's hash."""

    address: str
    signature_hash: str


async def signed_caller(request: Request,
                        state: Annotated[ApiState, Depends(get_state)]) -> Caller:
    """The signer of this request; 401 when the signature is missing or not valid."""
    body = request.scope.get(BODY_KEY)
    if not isinstance(body, bytes):
        body = await request.body()
    path = request.scope["path"]
    query = request.scope.get("query_string", b"")
    if query:
        path += "?" + query.decode("latin-1")
    headers = {k.lower(): v for k, v in request.headers.items()}
    try:
        address = state.verifier.verify(request.method, path, headers, body)
    except Unauthorized as exc:
        raise HTTPException(401, str(exc)) from exc
    return Caller(address, signature_hash(headers["x-fishnet-signature"]))


def fresh_signature(state: ApiState, caller: Caller) -> str:
    """The signature hash to store in a written record; 401 when a record written for this
    signature is already indexed (the request was replayed to this instance)."""
    if state.index.signature_used(caller.signature_hash):
        raise HTTPException(401, "replayed request: a record was already written for this "
                                 "signature")
    return caller.signature_hash


def not_found(what: str, item: str) -> HTTPException:
    return HTTPException(404, f"no {what} {item}")


def owned_by(record: R, field: str, caller: Caller) -> R:
    """``record`` when its ``field`` is the caller's address, else 403."""
    if str(getattr(record, field, "")).lower() != caller.address.lower():
        raise HTTPException(403, f"{type(record).__name__} {record.item_hash} belongs to "
                                 f"{getattr(record, field, '?')}, not to {caller.address}")
    return record


State = Annotated[ApiState, Depends(get_state)]
SignedCaller = Annotated[Caller, Depends(signed_caller)]
