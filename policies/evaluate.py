"""Deciding requests against a policy: deny by default, first allowing rule wins.

Rules are read in document order. For matching, each requested identifier type is decided
by the first rule that grants it to the partner for the purpose (and dataset); for an
aggregate, by the first rule whose grant covers the dataset, columns, grouping and rho.
Evaluation never raises: any error inside it is a denial with reason
``"policy evaluation failed"``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from policies.decisions import (
    AggregateObligations,
    AggregateRequest,
    MatchObligations,
    MatchRequest,
    PolicyDecision,
)
from policies.model import MatchGrant, Policy, Rule

EVALUATION_FAILED = "policy evaluation failed"

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class MatchRuleCheck:
    """How one rule bears on a match request: ``blockers`` say why it does not apply at all,
    ``granted`` are the requested types it grants, ``refused`` says why it does not grant
    the others."""

    blockers: tuple[str, ...]
    granted: tuple[str, ...]
    refused: tuple[str, ...]


def listed(values: tuple[str, ...] | list[str]) -> str:
    """``container, vessel`` (or ``none``) for messages."""
    return ", ".join(values) or "none"


def _who(rule: Rule, partner: str, purpose: str) -> list[str]:
    reasons = []
    if partner not in rule.partners:
        reasons.append(f"partner {partner!r} is not listed (rule lists: {listed(rule.partners)})")
    if purpose not in rule.purposes:
        reasons.append(f"purpose {purpose!r} not granted (rule grants: {listed(rule.purposes)})")
    return reasons


def check_match_rule(rule: Rule, request: MatchRequest, types: list[str]) -> MatchRuleCheck:
    """How ``rule`` bears on ``request`` for the requested identifier ``types``."""
    blockers = _who(rule, request.partner, request.purpose)
    grant = rule.match
    if grant is None:
        blockers.append("rule grants no matching")
        return MatchRuleCheck(tuple(blockers), (), ())
    if request.dataset is not None and grant.datasets is not None:
        if request.dataset not in grant.datasets:
            blockers.append(
                f"dataset {request.dataset!r} not granted (grants: {listed(grant.datasets)})"
            )
    granted = tuple(t for t in types if t in grant.identifier_types)
    missing = [t for t in types if t not in grant.identifier_types]
    refused: tuple[str, ...] = ()
    if missing:
        noun = "identifier type" if len(missing) == 1 else "identifier types"
        names = ", ".join(repr(t) for t in missing)
        refused = (f"{noun} {names} not granted (grants: {listed(grant.identifier_types)})",)
    return MatchRuleCheck(tuple(blockers), granted, refused)


def check_aggregate_rule(rule: Rule, request: AggregateRequest) -> list[str]:
    """Why ``rule`` does not allow ``request``; empty when it does."""
    reasons = _who(rule, request.partner, request.purpose)
    if rule.aggregate is None:
        return [*reasons, "rule grants no aggregates"]
    grant = rule.aggregate.datasets.get(request.dataset)
    if grant is None:
        granted = listed(list(rule.aggregate.datasets))
        return [*reasons, f"dataset {request.dataset!r} not granted (grants: {granted})"]
    extra = [c for c in request.columns if c not in grant.columns]
    if extra:
        noun = "column" if len(extra) == 1 else "columns"
        names = ", ".join(repr(c) for c in extra)
        reasons.append(f"{noun} {names} not allowed (allows: {listed(grant.columns)})")
    wanted = frozenset(request.group_by)
    if wanted and wanted not in {frozenset(group) for group in grant.group_by}:
        allowed = "; ".join(f"[{', '.join(g)}]" for g in grant.group_by)
        reasons.append(
            f"group_by [{', '.join(request.group_by)}] not allowed "
            f"(allows: {allowed + '; ' if allowed else ''}overall totals)"
        )
    if not _valid_rho(request.rho):
        reasons.append(f"rho {request.rho!r} is not a positive number")
    elif request.rho > grant.rho_per_query:
        reasons.append(f"rho {request.rho} exceeds rho_per_query {grant.rho_per_query}")
    return reasons


def _valid_rho(rho: object) -> bool:
    return (
        isinstance(rho, int | float)
        and not isinstance(rho, bool)
        and math.isfinite(rho)
        and rho > 0
    )


def requested_types(request: MatchRequest) -> list[str]:
    """The distinct requested identifier types, in request order."""
    if isinstance(request.identifier_types, str):
        raise TypeError("identifier_types must be a tuple of type names, not one string")
    types = list(dict.fromkeys(request.identifier_types))
    if not all(isinstance(t, str) for t in types):
        raise TypeError("identifier types must be text")
    return types


def deciding_rules(policy: Policy, request: MatchRequest) -> dict[str, Rule]:
    """For each requested identifier type that some rule grants, the first rule granting it."""
    types = requested_types(request)
    decided: dict[str, Rule] = {}
    for rule in policy.rules:
        check = check_match_rule(rule, request, types)
        if check.blockers:
            continue
        for id_type in check.granted:
            decided.setdefault(id_type, rule)
    return decided


def deciding_aggregate_rule(policy: Policy, request: AggregateRequest) -> Rule | None:
    """The first rule that allows ``request``, if any."""
    return next((r for r in policy.rules if not check_aggregate_rule(r, request)), None)


def _version(policy: Policy) -> str:
    try:
        return str(policy.version_hash)
    except Exception:
        return ""


def _fail_closed(policy: Policy, decide: Callable[[], _T], failed: Callable[[str], _T]) -> _T:
    try:
        return decide()
    except Exception:
        return failed(_version(policy))


def _failed(version: str) -> PolicyDecision:
    return PolicyDecision.deny(EVALUATION_FAILED, version)


def decide_match(policy: Policy, request: MatchRequest) -> PolicyDecision:
    """Decide a match request; see the module docstring for the order rules are read in."""
    return _fail_closed(policy, lambda: _decide_match(policy, request), _failed)


def decide_match_per_type(policy: Policy, request: MatchRequest) -> dict[str, PolicyDecision]:
    """One decision per requested identifier type, each with its own rule's obligations.
    On an internal error every type is denied (or, if even the request cannot be read, the
    answer is empty: nothing is allowed)."""

    def failed(version: str) -> dict[str, PolicyDecision]:
        try:
            types = [t for t in dict.fromkeys(request.identifier_types) if isinstance(t, str)]
        except Exception:
            return {}
        return {t: _failed(version) for t in types}

    return _fail_closed(policy, lambda: _decide_per_type(policy, request), failed)


def decide_aggregate(policy: Policy, request: AggregateRequest) -> PolicyDecision:
    """Decide an aggregate request: allowed by the first rule whose grant covers it."""
    return _fail_closed(policy, lambda: _decide_aggregate(policy, request), _failed)


def _decide_per_type(policy: Policy, request: MatchRequest) -> dict[str, PolicyDecision]:
    version = policy.version_hash
    decided = deciding_rules(policy, request)
    answers: dict[str, PolicyDecision] = {}
    for id_type in requested_types(request):
        rule = decided.get(id_type)
        if rule is None or rule.match is None:
            answers[id_type] = PolicyDecision.deny(_match_denial(request, [id_type]), version)
            continue
        answers[id_type] = PolicyDecision(
            allowed=True,
            rule_id=rule.id,
            reason=_match_allowed(request, [(rule.id, [id_type])], []),
            policy_version=version,
            allowed_types=frozenset({id_type}),
            match=match_obligations(rule.match, request.dataset),
            rule_ids=(rule.id,),
        )
    return answers


def _decide_match(policy: Policy, request: MatchRequest) -> PolicyDecision:
    version = policy.version_hash
    types = requested_types(request)
    if not types:
        return PolicyDecision.deny("no identifier types were requested", version)
    decided = deciding_rules(policy, request)
    if not decided:
        return PolicyDecision.deny(_match_denial(request, types), version)
    by_rule: list[tuple[str, list[str]]] = []
    obligations: list[MatchObligations] = []
    for rule in policy.rules:
        mine = [t for t in types if decided.get(t) is rule]
        if mine and rule.match is not None:
            by_rule.append((rule.id, mine))
            obligations.append(match_obligations(rule.match, request.dataset))
    rule_ids = tuple(dict.fromkeys(rule_id for rule_id, _ in by_rule))
    return PolicyDecision(
        allowed=True,
        rule_id=rule_ids[0],
        reason=_match_allowed(request, by_rule, [t for t in types if t not in decided]),
        policy_version=version,
        allowed_types=frozenset(decided),
        match=strictest(obligations),
        rule_ids=rule_ids,
    )


def _match_denial(request: MatchRequest, types: list[str]) -> str:
    return (
        f"no rule allows partner {request.partner!r} to match {listed(types)} for purpose "
        f"{request.purpose!r}; denied by default"
    )


def _match_allowed(
    request: MatchRequest, by_rule: list[tuple[str, list[str]]], denied: list[str]
) -> str:
    if len(by_rule) == 1:
        [(rule_id, types)] = by_rule
        text = (
            f"rule {rule_id!r} allows partner {request.partner!r} to match {listed(types)} "
            f"for purpose {request.purpose!r}"
        )
    else:
        parts = ", ".join(f"{rule_id!r} ({listed(types)})" for rule_id, types in by_rule)
        text = (
            f"rules {parts} allow partner {request.partner!r} to match for purpose "
            f"{request.purpose!r}; the strictest of their obligations apply"
        )
    return text + (f"; not granted: {listed(denied)}" if denied else "")


def match_obligations(grant: MatchGrant, dataset: str | None) -> MatchObligations:
    """The obligations ``grant`` puts on an answer searching ``dataset`` (``None``: all)."""
    datasets = frozenset(grant.datasets) if grant.datasets is not None else None
    if dataset is not None:
        datasets = frozenset({dataset})
    return MatchObligations(
        datasets=datasets,
        subject_categories=frozenset(grant.subject_categories),
        handling_codes=frozenset(grant.handling_codes),
        disclose=frozenset(grant.disclose),
        minors_hit_only=grant.minors == "hit_only",
        notify_owner=grant.notify_owner,
        quota_per_day=grant.quota_per_day,
        rate_limit_per_minute=grant.rate_limit_per_minute,
    )


def strictest(obligations: list[MatchObligations]) -> MatchObligations:
    """The combination of several rules' obligations that satisfies each of them."""
    first, *rest = obligations
    result = first
    for other in rest:
        if result.datasets is None:
            datasets = other.datasets
        else:
            datasets = (
                result.datasets if other.datasets is None else result.datasets & other.datasets
            )
        result = MatchObligations(
            datasets=datasets,
            subject_categories=result.subject_categories & other.subject_categories,
            handling_codes=result.handling_codes & other.handling_codes,
            disclose=result.disclose & other.disclose,
            minors_hit_only=result.minors_hit_only or other.minors_hit_only,
            notify_owner=result.notify_owner or other.notify_owner,
            quota_per_day=_smallest(result.quota_per_day, other.quota_per_day),
            rate_limit_per_minute=_smallest(
                result.rate_limit_per_minute, other.rate_limit_per_minute
            ),
        )
    return result


def _smallest(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)


def _decide_aggregate(policy: Policy, request: AggregateRequest) -> PolicyDecision:
    version = policy.version_hash
    if not _valid_rho(request.rho):
        return PolicyDecision.deny(f"rho must be a positive number, got {request.rho!r}", version)
    rule = deciding_aggregate_rule(policy, request)
    if rule is None or rule.aggregate is None:
        return PolicyDecision.deny(
            f"no rule allows partner {request.partner!r} this aggregate on {request.dataset!r} "
            f"for purpose {request.purpose!r}; denied by default",
            version,
        )
    grant = rule.aggregate.datasets[request.dataset]
    cap = policy.global_caps.get(request.dataset)
    return PolicyDecision(
        allowed=True,
        rule_id=rule.id,
        reason=f"rule {rule.id!r} allows partner {request.partner!r} this aggregate on "
        f"{request.dataset!r} for purpose {request.purpose!r}",
        policy_version=version,
        aggregate=AggregateObligations(
            dataset=request.dataset,
            columns=frozenset(grant.columns),
            group_by=tuple(frozenset(group) for group in grant.group_by),
            min_group_size=grant.min_group_size,
            rho_per_query=grant.rho_per_query,
            rho_per_period=grant.rho_per_period,
            period=grant.period,
            global_cap_rho=cap.rho if cap is not None else None,
            global_cap_period=cap.period if cap is not None else None,
            mechanism=grant.mechanism,
            delta_per_query=grant.delta_per_query,
            delta_per_period=grant.delta_per_period,
            global_cap_delta=cap.delta if cap is not None else None,
        ),
        rule_ids=(rule.id,),
    )
