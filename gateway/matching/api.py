"""Matching routes: the peer endpoint on the federation listener and the federated search on
the local listener. Thin: parse, call one service, shape the answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import ValidationError
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from gateway.errors import BadRequest
from gateway.federation.peer_api import PeerCall, authenticated_peer, signed_answer
from gateway.matching.audit import audit_match
from gateway.matching.schemas import PeerMatchRequest, SearchAnswer, SearchRequest
from gateway.matching.search import MATCH_PATH
from gateway.node import Node
from gateway.quotas.peer import admit_match, observe_match
from gateway.users.auth import require_role
from gateway.users.store import LocalUser

peer_router = APIRouter()
local_router = APIRouter()


@peer_router.post(MATCH_PATH)
async def peer_match(call: Annotated[PeerCall, Depends(authenticated_peer)]) -> Response:
    node: Node = call.node
    try:
        request = PeerMatchRequest.model_validate_json(call.body)
    except ValidationError as exc:
        raise BadRequest(
            f"match request does not follow the schema ({exc.error_count()} errors)"
        ) from exc
    claims = call.peer.claims
    # One read of the version in force decides, limits and names the whole request.
    policy = await run_in_threadpool(node.policy.current)
    await run_in_threadpool(admit_match, node, call, request, policy)
    outcome = await run_in_threadpool(
        node.matcher.answer,
        policy,
        call.peer.agency,
        claims.purpose,
        claims.case_reference,
        claims.jti,
        request,
    )
    response = signed_answer(node, MATCH_PATH, outcome.answer.model_dump(mode="json"))
    await run_in_threadpool(audit_match, node, call, request, outcome, response)
    # Probing counters only look back over windows: they are kept after the answer has left,
    # so their write is not on the partner's critical path.
    response.background = BackgroundTask(observe_match, node, call, request, outcome, policy)
    return response


@local_router.post("/api/v1/search", response_model=SearchAnswer)
async def search(
    body: SearchRequest,
    request: Request,
    user: Annotated[LocalUser, Depends(require_role("analyst", "officer"))],
) -> SearchAnswer:
    node: Node = request.app.state.node
    return await node.search.search(body, user.username)
