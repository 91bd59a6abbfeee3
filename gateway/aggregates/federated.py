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

from gateway.aggregates.rho import as_delta
from gateway.aggregates.schemas import (
    AggregateQuery,
    CombinedAggregate,
    CombinedGroup,
    GroupValue,
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
    keys = [group.key for group in aggregate.groups]
    if len(set(keys)) != len(keys) or any(len(key) != len(query.group_by) for key in keys):
        return PeerStatus(
            agency=call.agency, status="error", detail="answer's groups are malformed"
        )
    return PeerStatus(agency=call.agency, status="ok", aggregate=aggregate)


def combine(query: AggregateQuery, statuses: tuple[PeerStatus, ...]) -> CombinedAggregate:
    """Sum the answers key by key over the union of the keys they list (in the order first
    seen). A key some responders did not list is summed over those that did and says who is
    missing; its interval covers only their noise."""
    answers: list[NodeAggregate] = [s.aggregate for s in statuses if s.aggregate is not None]
    variance = sum(a.variance for a in answers)
    half = Z95 * math.sqrt(variance)
    by_key: dict[tuple[str, ...], list[tuple[NodeAggregate, GroupValue]]] = {}
    for answer in answers:
        seen: set[tuple[str, ...]] = set()
        for group in answer.groups:
            if group.key in seen:
                raise BadRequest(f"{answer.responder} answered one group twice")
            seen.add(group.key)
            by_key.setdefault(group.key, []).append((answer, group))
    groups = []
    for key, values in by_key.items():
        missing = tuple(a.responder for a in answers if all(a is not b for b, _ in values))
        if any(v.suppressed or v.value is None for _, v in values):
            groups.append(
                CombinedGroup(
                    key=key,
                    value=None,
                    ci_low=None,
                    ci_high=None,
                    suppressed=True,
                    missing_from=missing,
                )
            )
            continue
        total = sum(v.value for _, v in values if v.value is not None)
        spread = half if not missing else Z95 * math.sqrt(sum(a.variance for a, _ in values))
        groups.append(
            CombinedGroup(
                key=key,
                value=total,
                ci_low=total - spread,
                ci_high=total + spread,
                suppressed=False,
                missing_from=missing,
            )
        )
    charged = sum(a.rho_charged_nano for a in answers)
    delta = sum(a.key_selection.delta_charged_femto for a in answers if a.key_selection)
    return CombinedAggregate(
        responders=tuple(a.responder for a in answers),
        variance=variance,
        ci95_half_width=half,
        rho_charged=charged / 10**9,
        rho_charged_nano=charged,
        budget_left_min=min((a.budget_left for a in answers), default=None),
        groups=tuple(groups),
        delta_charged=as_delta(delta),
        delta_charged_femto=delta,
    )
