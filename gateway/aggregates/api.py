"""Aggregate routes: the peer endpoint on the federation listener and the federated
aggregate on the local listener. Thin: parse, call one service, audit, shape the answer."""

from __future__ import annotations

import secrets
import time
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from gateway.aggregates.federated import AGGREGATE_PATH, federated_aggregate
from gateway.aggregates.rho import check_rho
from gateway.aggregates.schemas import (
    AggregateQuery,
    LocalAggregateAnswer,
    LocalAggregateRequest,
    PeerStatus,
)
from gateway.aggregates.service import AggregateOutcome
from gateway.audit.schemas import AuditEvent
from gateway.errors import BadRequest, CordonError, NotFound
from gateway.federation.client import SIGNATURE_HEADER
from gateway.federation.peer_api import PeerCall, authenticated_peer, signed_answer
from gateway.node import Node
from gateway.users.auth import require_role
from gateway.users.store import LocalUser

peer_router = APIRouter()
local_router = APIRouter()


@peer_router.post(AGGREGATE_PATH)
async def peer_aggregate(call: Annotated[PeerCall, Depends(authenticated_peer)]) -> Response:
    node: Node = call.node
    try:
        query = AggregateQuery.model_validate_json(call.body)
    except ValidationError as exc:
        raise BadRequest(
            f"aggregate request does not follow the schema ({exc.error_count()} errors)"
        ) from exc
    if node.aggregates is None:
        raise NotFound(f"no aggregate dataset {query.dataset!r} here")
    claims = call.peer.claims
    try:
        outcome = await run_in_threadpool(
            node.aggregates.answer,
            node.policy.current(),
            call.peer.agency,
            claims.purpose,
            claims.jti,
            query,
        )
    except CordonError as refused:
        await run_in_threadpool(_audit, node, call, query, None, refused, None)
        raise
    payload: dict[str, object] = {
        "responder": node.agency,
        "request_jti": claims.jti,
        "aggregate": outcome.aggregate.model_dump(mode="json"),
    }
    response = signed_answer(node, AGGREGATE_PATH, payload)
    await run_in_threadpool(_audit, node, call, query, outcome, None, response)
    return response


def _audit(
    node: Node,
    call: PeerCall,
    query: AggregateQuery,
    outcome: AggregateOutcome | None,
    refused: CordonError | None,
    response: Response | None,
) -> None:
    claims = call.peer.claims
    detail: dict[str, object] = {
        "dataset": query.dataset,
        "template": query.template,
        "group_by": list(query.group_by),
        "rho_asked": query.rho if query.rho == query.rho else "nan",
        "jti": claims.jti,
    }
    if refused is not None:
        detail["refused"] = refused.code
        detail["reason"] = refused.detail
    elif outcome is not None:
        detail["cached"] = outcome.aggregate.cached
        detail["rho_charged_nano"] = outcome.rho_charged_nano
        detail["budget_left_nano"] = outcome.aggregate.budget_left_nano
        detail["suppressed"] = sum(g.suppressed for g in outcome.aggregate.groups)
        selection = outcome.aggregate.key_selection
        if selection is not None:
            detail["key_threshold"] = selection.threshold
            detail["delta_charged_femto"] = selection.delta_charged_femto
            detail["delta_left_femto"] = selection.delta_left_femto
    node.audit.append(
        AuditEvent(
            channel="peer",
            requester_agency=call.peer.agency,
            requester_user=claims.user,
            query_type="aggregate",
            decision="allowed" if outcome is not None else "denied",
            recorded_at=node.clock(),
            purpose=claims.purpose,
            case_reference=claims.case_reference,
            rule_id=outcome.decision.rule_id if outcome is not None else None,
            policy_version=outcome.decision.policy_version if outcome is not None else None,
            rho_charged=outcome.rho_charged if outcome is not None else 0.0,
            latency_ms=round((time.perf_counter() - call.started) * 1000, 2),
            outcome=detail,
            signatures={"answer": response.headers[SIGNATURE_HEADER]} if response else {},
        )
    )


@local_router.post("/api/v1/aggregate", response_model=LocalAggregateAnswer)
async def aggregate(
    body: LocalAggregateRequest,
    request: Request,
    user: Annotated[LocalUser, Depends(require_role("analyst", "officer"))],
) -> LocalAggregateAnswer:
    node: Node = request.app.state.node
    check_rho(body.query.rho)  # refuse NaN, zero, negatives here, before anyone is asked
    started = time.perf_counter()
    reference = f"local:{secrets.token_hex(16)}"
    own = run_in_threadpool(_own_status, node, body, reference)
    answer = await federated_aggregate(
        node.agency, node.manifest, node.peers, body, user.username, own
    )
    await run_in_threadpool(_audit_outbound, node, user, body, answer, started, reference)
    return answer


def _own_status(node: Node, body: LocalAggregateRequest, reference: str) -> PeerStatus | None:
    """This node's own noisy figure, or ``None`` when it holds no such dataset."""
    if node.aggregates is None or not node.aggregates.holds(body.query.dataset):
        return None
    try:
        outcome = node.aggregates.answer_own(
            node.policy.current(), body.purpose, reference, body.query
        )
    except CordonError as refused:
        return PeerStatus(agency=node.agency, status=refused.code, detail=refused.detail)
    return PeerStatus(agency=node.agency, status="ok", aggregate=outcome.aggregate)


def _audit_outbound(
    node: Node,
    user: LocalUser,
    body: LocalAggregateRequest,
    answer: LocalAggregateAnswer,
    started: float,
    reference: str,
) -> None:
    own = answer.own.aggregate if answer.own is not None else None
    node.audit.append(
        AuditEvent(
            channel="outbound",
            requester_agency=node.agency,
            requester_user=user.username,
            query_type="aggregate",
            decision="allowed" if answer.combined.responders else "denied",
            recorded_at=node.clock(),
            purpose=body.purpose,
            case_reference=body.case_reference,
            # This node's own ledger was charged for its own figure; the peers' charges are
            # in the outcome (and in each peer's own audit log).
            rho_charged=own.rho_charged if own is not None else 0.0,
            latency_ms=round((time.perf_counter() - started) * 1000, 2),
            outcome={
                "dataset": body.query.dataset,
                "template": body.query.template,
                "group_by": list(body.query.group_by),
                "rho_asked": body.query.rho if body.query.rho == body.query.rho else "nan",
                "reference": reference,
                "own": None if answer.own is None else answer.own.status,
                "peers": {p.agency: p.status for p in answer.peers},
                "peer_rho_charged_nano": {
                    p.agency: p.aggregate.rho_charged_nano
                    for p in answer.peers
                    if p.aggregate is not None
                },
                "rho_charged_nano": answer.combined.rho_charged_nano,
                "delta_charged_femto": answer.combined.delta_charged_femto,
            },
        )
    )
