"""The audit entry of one answered peer match request."""

from __future__ import annotations

import time

from fastapi import Response

from gateway.audit.schemas import AuditEvent
from gateway.federation.client import SIGNATURE_HEADER
from gateway.federation.peer_api import PeerCall, identifier_counts
from gateway.matching.schemas import PeerMatchRequest
from gateway.matching.service import MatchOutcome
from gateway.node import Node


def audit_match(
    node: Node, call: PeerCall, request: PeerMatchRequest, outcome: MatchOutcome, response: Response
) -> None:
    claims = call.peer.claims
    node.audit.append(
        AuditEvent(
            channel="peer",
            requester_agency=call.peer.agency,
            requester_user=claims.user,
            query_type="match",
            decision="allowed" if outcome.decision != "denied" else "denied",
            recorded_at=node.clock(),
            purpose=claims.purpose,
            case_reference=claims.case_reference,
            identifier_types=identifier_counts([q.id_type for q in request.queries]),
            rule_id=",".join(outcome.rule_ids) or None,
            policy_version=outcome.answer.policy_version,
            latency_ms=round((time.perf_counter() - call.started) * 1000, 2),
            outcome={
                "decision": outcome.decision,
                "hits": outcome.hits,
                "denied": outcome.denied,
                "jti": claims.jti,
            },
            signatures={"answer": response.headers[SIGNATURE_HEADER]},
        )
    )
