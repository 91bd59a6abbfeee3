"""Quotas and probing on the peer match path: admit a request (or audit its refusal and
refuse it with 429 ``quota_exceeded``), and after answering, count its misses and audit any
probing alert. Nothing here sees an identifier: only types and counts."""

from __future__ import annotations

import logging
import time

from gateway.audit.schemas import AuditEvent
from gateway.federation.peer_api import PeerCall, identifier_counts
from gateway.matching.schemas import PeerMatchRequest
from gateway.matching.service import MatchOutcome
from gateway.node import Node
from gateway.quotas.service import QuotaRefused
from policies import Policy

log = logging.getLogger(__name__)


def admit_match(node: Node, call: PeerCall, request: PeerMatchRequest, policy: Policy) -> None:
    """Raise QuotaRefused (audited) when the request passes a limit or the partner is blocked."""
    claims = call.peer.claims
    types = [q.id_type for q in request.queries]
    try:
        node.quotas.admit_match(policy, call.peer.agency, claims.purpose, types)
    except QuotaRefused as refused:
        node.audit.append(
            AuditEvent(
                channel="peer",
                requester_agency=call.peer.agency,
                requester_user=claims.user,
                query_type="match",
                decision="denied",
                recorded_at=node.clock(),
                purpose=claims.purpose,
                case_reference=claims.case_reference,
                identifier_types=identifier_counts(types),
                rule_id=refused.rule_id,
                policy_version=policy.version_hash,
                latency_ms=round((time.perf_counter() - call.started) * 1000, 2),
                outcome={"refused": refused.code, "limit": refused.limit, "jti": claims.jti},
            )
        )
        raise


def observe_match(
    node: Node,
    call: PeerCall,
    request: PeerMatchRequest,
    outcome: MatchOutcome,
    policy: Policy,
) -> None:
    """Count the answered identifiers and distinct misses; audit a probing alert."""
    answered = {
        (query.id_type, query.epoch, query.token): result.outcome
        for query, result in zip(request.queries, outcome.answer.results, strict=True)
        if result.outcome != "denied"
    }
    misses = sum(1 for value in answered.values() if value == "no_hit")
    alert = node.quotas.observe_match(policy, call.peer.agency, len(answered), misses)
    if alert is None:
        return
    log.warning(
        "probing alert: partner %s had %d misses of %d identifiers in %d minutes%s",
        alert.partner,
        alert.misses,
        alert.checked,
        alert.window_minutes,
        f"; blocked until {alert.blocked_until.isoformat()}" if alert.blocked_until else "",
    )
    claims = call.peer.claims
    node.audit.append(
        AuditEvent(
            channel="peer",
            requester_agency=alert.partner,
            requester_user=claims.user,
            query_type="probing-alert",
            decision="denied" if alert.blocked_until else "allowed",
            recorded_at=node.clock(),
            purpose=claims.purpose,
            case_reference=claims.case_reference,
            policy_version=policy.version_hash,
            outcome={
                "alert": "probing",
                "window_start": alert.window_start.isoformat(),
                "window_minutes": alert.window_minutes,
                "checked": alert.checked,
                "misses": alert.misses,
                "miss_ratio": round(alert.miss_ratio, 4),
                "blocked_until": alert.blocked_until.isoformat() if alert.blocked_until else None,
                "jti": claims.jti,
            },
        )
    )
