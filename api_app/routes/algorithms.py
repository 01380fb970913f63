"""``/algorithms``: register or amend your algorithm; list and read them (public)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from api_app.deps import SignedCaller, State, fresh_signature, not_found, owned_by
from api_app.schemas import AlgorithmBody
from fishnet_stack.model import Algorithm

router = APIRouter(tags=["algorithms"])


@router.put("/algorithms")
async def put_algorithm(body: AlgorithmBody, state: State,
                        caller: SignedCaller) -> dict[str, Any]:
    sig = fresh_signature(state, caller)
    fields = body.model_dump(exclude={"item_hash"})
    if body.item_hash is None:
        algorithm = Algorithm(owner=caller.address, **fields)
    else:
        found = state.index.get(Algorithm, body.item_hash)
        if found is None:
            raise not_found("algorithm", body.item_hash)
        algorithm = owned_by(found, "owner", caller)
        for name, value in fields.items():
            setattr(algorithm, name, value)
    algorithm.signatureHash = sig
    return (await state.save(algorithm)).model_dump(mode="json")


@router.get("/algorithms")
async def list_algorithms(state: State, by: str | None = None, name: str | None = None,
                          page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
                          page_size: Annotated[int, Query(ge=1, le=1000)] = 20) -> Response:
    bodies = state.index.bodies(Algorithm, {"owner": by, "name": name}, limit=page_size,
                                offset=(page - 1) * page_size)
    return Response("[" + ",".join(bodies) + "]", media_type="application/json")


@router.get("/algorithms/{item_hash}")
async def get_algorithm(item_hash: str, state: State) -> dict[str, Any]:
    found = state.index.get(Algorithm, item_hash)
    if found is None:
        raise not_found("algorithm", item_hash)
    return found.model_dump(mode="json")
