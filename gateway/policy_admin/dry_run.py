"""Dry-run: replay the peer requests of the last N days against a proposed policy and report
the decisions that would change, by partner and query type, before anyone applies it.

Each audited request is decided twice, by the version that decided it then (named in the
entry; for an entry that names none, the version in force at its time) and by the proposed
policy. Only policy decisions are compared: a request refused for its quota or a partner
block was still allowed by the policy. Match entries carry the partner, purpose and
identifier types; aggregate entries are replayed when their outcome records ``dataset`` and
the rho asked (``rho_asked`` or ``rho``, a number or its text), with the columns from
``columns`` or, failing that, from ``column``, ``filters`` and ``group_by``.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gateway.policy_admin.store import AuditedRequest, StoredVersion
from policies import (
    AggregateRequest,
    MatchRequest,
    Policy,
    decide_aggregate,
    decide_match_per_type,
)


@dataclass(frozen=True)
class Verdict:
    """A policy's decision on one replayed request: what it allows and which rule decides
    each part (an identifier type, or the aggregate's dataset)."""

    rules: tuple[tuple[str, str], ...]

    @property
    def allowed(self) -> frozenset[str]:
        return frozenset(part for part, _ in self.rules)

    def describe(self) -> str:
        if not self.rules:
            return "denied"
        return "allowed " + ", ".join(f"{part} by {rule!r}" for part, rule in self.rules)


@dataclass(frozen=True)
class ChangedRequest:
    seq: int
    recorded_at: datetime
    partner: str
    purpose: str
    query_type: str
    subject: str
    before: str
    after: str


@dataclass
class GroupFigures:
    """Figures for one partner and query type. ``changed`` counts requests whose decision
    would differ in any way; ``newly_allowed`` / ``newly_denied`` those where some part
    denied before would be allowed / allowed before would be denied; ``rule_changed`` those
    allowed alike but decided by another rule (its obligations may differ)."""

    partner: str
    query_type: str
    requests: int = 0
    changed: int = 0
    newly_allowed: int = 0
    newly_denied: int = 0
    rule_changed: int = 0
    identifiers_newly_allowed: int = 0
    identifiers_newly_denied: int = 0


@dataclass
class DryRunReport:
    proposed_version: str
    since: datetime
    replayed: int = 0
    changed: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    groups: list[GroupFigures] = field(default_factory=list)
    examples: list[ChangedRequest] = field(default_factory=list)


@dataclass(frozen=True)
class _Replayable:
    key: Hashable
    subject: str
    decide: Callable[[Policy], Verdict]
    counts: dict[str, int]


class Replayer:
    """Replays audited requests; ``versions`` are the stored versions, ``load`` parses one."""

    def __init__(
        self,
        proposed: Policy,
        versions: Iterable[StoredVersion],
        load: Callable[[str], Policy],
        *,
        examples: int = 20,
    ) -> None:
        self._proposed = proposed
        timeline = sorted(versions, key=lambda v: v.number)
        self._by_hash = {v.version_hash: v for v in timeline}
        self._times = [v.applied_at for v in timeline]
        self._timeline = timeline
        self._load = load
        self._policies: dict[str, Policy] = {}
        self._verdicts: dict[tuple[str, Hashable], Verdict] = {}
        self._examples = examples

    def run(self, entries: Iterable[AuditedRequest], since: datetime) -> DryRunReport:
        report = DryRunReport(self._proposed.version_hash, since)
        groups: dict[tuple[str, str], GroupFigures] = {}
        examples: deque[ChangedRequest] = deque(maxlen=self._examples)
        for entry in entries:
            replayable, problem = _replayable(entry)
            before_version = self._version_of(entry) if replayable is not None else None
            if replayable is None or before_version is None:
                problem = problem or "no stored policy version decided it"
                report.skipped[problem] = report.skipped.get(problem, 0) + 1
                continue
            before = self._verdict(before_version.version_hash, replayable)
            after = self._verdict(self._proposed.version_hash, replayable)
            figures = groups.setdefault(
                (entry.partner, entry.query_type),
                GroupFigures(entry.partner, entry.query_type),
            )
            report.replayed += 1
            figures.requests += 1
            if before == after:
                continue
            report.changed += 1
            figures.changed += 1
            gained, lost = after.allowed - before.allowed, before.allowed - after.allowed
            figures.newly_allowed += bool(gained)
            figures.newly_denied += bool(lost)
            figures.rule_changed += not gained and not lost
            figures.identifiers_newly_allowed += sum(replayable.counts.get(t, 0) for t in gained)
            figures.identifiers_newly_denied += sum(replayable.counts.get(t, 0) for t in lost)
            examples.append(
                ChangedRequest(
                    seq=entry.seq,
                    recorded_at=entry.recorded_at,
                    partner=entry.partner,
                    purpose=entry.purpose or "",
                    query_type=entry.query_type,
                    subject=replayable.subject,
                    before=before.describe(),
                    after=after.describe(),
                )
            )
        report.groups = [groups[key] for key in sorted(groups)]
        report.examples = list(reversed(examples))
        return report

    def _version_of(self, entry: AuditedRequest) -> StoredVersion | None:
        if entry.policy_version and entry.policy_version in self._by_hash:
            return self._by_hash[entry.policy_version]
        if entry.policy_version:
            return None  # a version this database never stored: do not guess
        index = bisect.bisect_right(self._times, entry.recorded_at)
        return self._timeline[index - 1] if index else None

    def _policy(self, version_hash: str) -> Policy:
        if version_hash == self._proposed.version_hash:
            return self._proposed
        if version_hash not in self._policies:
            self._policies[version_hash] = self._load(self._by_hash[version_hash].text)
        return self._policies[version_hash]

    def _verdict(self, version_hash: str, replayable: _Replayable) -> Verdict:
        key = (version_hash, replayable.key)
        if key not in self._verdicts:
            self._verdicts[key] = replayable.decide(self._policy(version_hash))
        return self._verdicts[key]


def _replayable(entry: AuditedRequest) -> tuple[_Replayable | None, str | None]:
    if entry.purpose is None:
        return None, "no purpose recorded (refused before the policy was asked)"
    if entry.query_type == "match":
        return _match(entry)
    return _aggregate(entry)


def _match(entry: AuditedRequest) -> tuple[_Replayable | None, str | None]:
    types = tuple(sorted(entry.identifier_types))
    if not types:
        return None, "match entry without identifier types"
    request = MatchRequest(entry.partner, entry.purpose or "", types)

    def decide(policy: Policy) -> Verdict:
        decisions = decide_match_per_type(policy, request)
        return Verdict(
            tuple(
                (t, d.rule_id or "")
                for t, d in sorted(decisions.items())
                if d.allowed and t in types
            )
        )

    key = ("match", entry.partner, entry.purpose, types)
    return _Replayable(key, ", ".join(types), decide, dict(entry.identifier_types)), None


def _aggregate(entry: AuditedRequest) -> tuple[_Replayable | None, str | None]:
    outcome = entry.outcome
    dataset = outcome.get("dataset")
    rho = _number(outcome.get("rho_asked", outcome.get("rho")))
    if not isinstance(dataset, str) or rho is None:
        return None, "aggregate entry without dataset or rho"
    group_by = tuple(str(c) for c in outcome.get("group_by") or ())
    columns = _columns(outcome, group_by)
    request = AggregateRequest(entry.partner, entry.purpose or "", dataset, columns, group_by, rho)

    def decide(policy: Policy) -> Verdict:
        decision = decide_aggregate(policy, request)
        return Verdict(((dataset, decision.rule_id or ""),) if decision.allowed else ())

    key = ("aggregate", entry.partner, entry.purpose, dataset, columns, group_by, rho)
    return _Replayable(key, dataset, decide, {}), None


def _columns(outcome: dict[str, Any], group_by: tuple[str, ...]) -> tuple[str, ...]:
    recorded = outcome.get("columns")
    if isinstance(recorded, list):
        return tuple(dict.fromkeys(str(c) for c in recorded))
    used = [*(outcome.get("filters") or {}), *group_by]
    if isinstance(outcome.get("column"), str):
        used.append(outcome["column"])
    return tuple(dict.fromkeys(str(c) for c in used))


def _number(value: object) -> float | None:
    # The audit log keeps numbers in its entries' outcome as text, to keep them exact.
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None
