"""Why a policy allows or denies a request, rule by rule, for DPOs and auditors (``cordon
policy explain``). Uses the same checks as the decision itself, so the two cannot disagree."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from policies.decisions import AggregateRequest, MatchRequest, PolicyDecision
from policies.evaluate import (
    EVALUATION_FAILED,
    check_aggregate_rule,
    check_match_rule,
    decide_aggregate,
    decide_match,
    deciding_aggregate_rule,
    deciding_rules,
    listed,
    requested_types,
)
from policies.model import Policy


@dataclass(frozen=True)
class RuleOutcome:
    """Whether one rule decided (part of) the request, and why it did or did not."""

    rule_id: str
    applied: bool
    reasons: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Explanation:
    """The decision on a request and, for every rule in document order, its outcome."""

    decision: PolicyDecision
    outcomes: list[RuleOutcome]
    request: MatchRequest | AggregateRequest | None = None

    def to_text(self) -> str:
        """A plain-text rendering for the command line."""
        lines = []
        if self.request is not None:
            lines.append(_describe_request(self.request))
        verdict = "ALLOWED" if self.decision.allowed else "DENIED"
        lines.append(f"Decision: {verdict}: {self.decision.reason}")
        lines.extend(_describe_obligations(self.decision))
        lines.append(f"Policy version: {self.decision.policy_version or 'unknown'}")
        if self.outcomes:
            lines.append("Rules, top to bottom (the first rule that allows a request decides):")
        elif self.decision.reason != EVALUATION_FAILED:
            lines.append("The policy has no rules, so everything is denied.")
        for outcome in self.outcomes:
            mark = "applied" if outcome.applied else "skipped"
            lines.append(f"  [{mark}] {outcome.rule_id}: {'; '.join(outcome.reasons)}")
        return "\n".join(lines)


def explain(policy: Policy, request: MatchRequest | AggregateRequest) -> Explanation:
    """The decision on ``request`` with every rule's reason for applying or not."""
    if isinstance(request, AggregateRequest):
        decision = decide_aggregate(policy, request)
        outcomes = _outcomes(decision, lambda: _aggregate_outcomes(policy, request))
    else:
        decision = decide_match(policy, request)
        outcomes = _outcomes(decision, lambda: _match_outcomes(policy, request))
    return Explanation(decision=decision, outcomes=outcomes, request=request)


def _outcomes(
    decision: PolicyDecision, build: Callable[[], list[RuleOutcome]]
) -> list[RuleOutcome]:
    # When the decision failed closed there is nothing trustworthy to say about the rules.
    if decision.reason == EVALUATION_FAILED:
        return []
    try:
        return build()
    except Exception:
        return []


def _match_outcomes(policy: Policy, request: MatchRequest) -> list[RuleOutcome]:
    types = requested_types(request)
    decided = deciding_rules(policy, request)
    outcomes = []
    for rule in policy.rules:
        check = check_match_rule(rule, request, types)
        mine = [t for t in types if decided.get(t) is rule]
        reasons = [f"grants identifier types {listed(mine)}"] if mine else []
        reasons.extend(check.blockers)
        reasons.extend(check.refused)
        if not check.blockers:
            reasons.extend(
                f"identifier type {t!r} is already decided by earlier rule {decided[t].id!r}"
                for t in check.granted
                if t not in mine
            )
        outcomes.append(RuleOutcome(rule.id, bool(mine), reasons))
    return outcomes


def _aggregate_outcomes(policy: Policy, request: AggregateRequest) -> list[RuleOutcome]:
    deciding = deciding_aggregate_rule(policy, request)
    outcomes = []
    for rule in policy.rules:
        reasons = check_aggregate_rule(rule, request)
        if rule is deciding:
            outcomes.append(
                RuleOutcome(rule.id, True, [f"allows this aggregate on {request.dataset!r}"])
            )
            continue
        if not reasons and deciding is not None:
            reasons = [f"would also allow it, but earlier rule {deciding.id!r} decides"]
        outcomes.append(RuleOutcome(rule.id, False, reasons))
    return outcomes


def _describe_request(request: MatchRequest | AggregateRequest) -> str:
    who = f"partner {request.partner!r}, purpose {request.purpose!r}"
    if isinstance(request, AggregateRequest):
        group = f"[{', '.join(request.group_by)}]" if request.group_by else "overall totals"
        return (
            f"Aggregate request: {who}, dataset {request.dataset!r}, columns "
            f"{listed(request.columns)}, group by {group}, rho {request.rho}"
        )
    where = f", dataset {request.dataset!r}" if request.dataset is not None else ""
    return f"Match request: {who}, identifier types {listed(request.identifier_types)}{where}"


def _describe_obligations(decision: PolicyDecision) -> list[str]:
    match, aggregate = decision.match, decision.aggregate
    if match is not None:
        datasets = listed(sorted(match.datasets)) if match.datasets is not None else "all"
        limits = [
            f"quota {match.quota_per_day}/day"
            if match.quota_per_day is not None
            else "no daily quota",
            f"{match.rate_limit_per_minute}/minute"
            if match.rate_limit_per_minute is not None
            else "no rate limit",
        ]
        return [
            f"  Allowed identifier types: {listed(sorted(decision.allowed_types))}",
            f"  Datasets searched: {datasets}",
            f"  Hits only on subject categories {listed(sorted(match.subject_categories))} "
            f"and handling codes {listed(sorted(match.handling_codes))}",
            f"  A hit discloses: {listed(sorted(match.disclose))}"
            + ("; on minors only the hit" if match.minors_hit_only else ""),
            f"  Owner notified: {'yes' if match.notify_owner else 'no'}; {', '.join(limits)}",
        ]
    if aggregate is not None:
        cap = (
            f"{aggregate.global_cap_rho} per {aggregate.global_cap_period}"
            if aggregate.global_cap_rho is not None
            else "none"
        )
        return [
            f"  Minimum group size {aggregate.min_group_size}; {aggregate.mechanism} noise",
            f"  Budget: rho {aggregate.rho_per_query} per query, {aggregate.rho_per_period} "
            f"per {aggregate.period}; global cap {cap}",
            "  Key selection by DP threshold: "
            + (
                f"delta {aggregate.delta_per_query} per query, {aggregate.delta_per_period} per "
                f"{aggregate.period}"
                + (
                    f"; global delta cap {aggregate.global_cap_delta}"
                    if aggregate.global_cap_delta is not None
                    else ""
                )
                if aggregate.delta_per_query is not None
                else "not granted (public keys only)"
            ),
        ]
    return []
