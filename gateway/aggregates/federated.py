"""A federated aggregate: ask every partner (or the named ones), keep the answers that are
signed, bound to the request and well-formed, and sum them. Each node's noise is independent,
so variances add; the combined 95% interval is the normal approximation 1.96 * sqrt(sum of
variances), which is close for discrete Gaussian noise and conservative enough for a few
Laplace terms to be labelled an approximation."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable

from pydantic import ValidationError

from gateway.aggregates.schemas import (
    AggregateQuery,
    CombinedAggregate,
    CombinedGroup,
    LocalAggregateAnswer,
    LocalAggregateRequest,
    NodeAggregate,
    PeerAggregateAnswer,
    PeerStatus,
)
from gateway.errors import BadRequest
from gateway.federation.client import PeerCall, PeerClient
from gateway.federation.manifest import Manifest

AGGREGATE_PATH = "/peer/v1/aggregate"
Z95 = 1.959963984540054


async def federated_aggregate(
    agency: str,
    manifest: Manifest,
    peers: PeerClient,
    request: LocalAggregateRequest,
    user: str,
    own: Awaitable[PeerStatus | None],
) -> LocalAggregateAnswer:
    """Fan out to the peers while ``own`` (the node's own noisy figure, ``None`` when it does
    not hold the dataset) is computed, and sum every answer that came back."""
    members = list(manifest.peers_of(agency))
    if request.peers is not None:
        unknown = set(request.peers) - {m.agency for m in members}
        if unknown:
            raise BadRequest(f"peers: {', '.join(sorted(unknown))} not in the federation")
        members = [m for m in members if m.agency in request.peers]
    calls, mine = await asyncio.gather(
        peers.fan_out(
            members,
            AGGREGATE_PATH,
            request.query.model_dump(mode="json"),
            purpose=request.purpose,
            case_reference=request.case_reference,
            user=user,
        ),
        own,
    )
    statuses = tuple(_status(request.query, calls[m.agency]) for m in members)
    everyone = statuses if mine is None else (mine, *statuses)
    return LocalAggregateAnswer(
        query=request.query, own=mine, peers=statuses, combined=combine(request.query, everyone)
    )


def _status(query: AggregateQuery, call: PeerCall) -> PeerStatus:
    if call.status != "ok" or call.answer is None:
        return PeerStatus(agency=call.agency, status=call.status, detail=call.detail)
    try:
        answer = PeerAggregateAnswer.model_validate(call.answer)
    except ValidationError:
        return PeerStatus(
            agency=call.agency, status="error", detail="answer does not follow the schema"
        )
    aggregate = answer.aggregate
    if aggregate.dataset != query.dataset or aggregate.template != query.template:
        return PeerStatus(
            agency=call.agency, status="error", detail="answer is to another question"
        )
    return PeerStatus(agency=call.agency, status="ok", aggregate=aggregate)


def combine(query: AggregateQuery, statuses: tuple[PeerStatus, ...]) -> CombinedAggregate:
    answers: list[NodeAggregate] = [s.aggregate for s in statuses if s.aggregate is not None]
    variance = sum(a.variance for a in answers)
    half = Z95 * math.sqrt(variance)
    keys = [g.key for g in answers[0].groups] if answers else []
    groups = []
    for index, key in enumerate(keys):
        values = [a.groups[index] for a in answers if len(a.groups) > index]
        if len(values) != len(answers) or any(v.key != key for v in values):
            raise BadRequest("partners answered with different groups")
        if any(v.suppressed or v.value is None for v in values):
            groups.append(
                CombinedGroup(key=key, value=None, ci_low=None, ci_high=None, suppressed=True)
            )
            continue
        total = sum(v.value for v in values if v.value is not None)
        groups.append(
            CombinedGroup(
                key=key, value=total, ci_low=total - half, ci_high=total + half, suppressed=False
            )
        )
    charged = sum(a.rho_charged_nano for a in answers)
    return CombinedAggregate(
        responders=tuple(a.responder for a in answers),
        variance=variance,
        ci95_half_width=half,
        rho_charged=charged / 10**9,
        rho_charged_nano=charged,
        budget_left_min=min((a.budget_left for a in answers), default=None),
        groups=tuple(groups),
    )
