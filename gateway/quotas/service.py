"""Per-partner quotas and rate limits on hit/no-hit matching, probing detection, and the
temporary blocks it can impose.

Limits come from the rule that decided each identifier type: ``quota_per_day`` counts the
identifiers a partner checks per UTC day, ``rate_limit_per_minute`` its requests per minute.
Counters are kept per partner *and rule*, so each rule's limit holds for what that rule
allows. Windows are fixed (a calendar day, a clock minute), so a burst straddling a minute
boundary may briefly see twice the rate. A request that would pass any limit is refused
whole and counts against none.

Probing: identifiers arrive as tokens, so the node cannot see that a partner walks through
sequential values. It sees counts: identifiers checked and identifiers that missed, per
partner per window of the policy's ``probing.window_minutes``. When the misses reach
``probing.min_misses`` at a miss ratio of at least ``probing.miss_ratio``, one alert is raised
for the window (across every process) and, when ``probing.block_minutes`` is above 0, the
partner's requests are refused until the block ends or a DPO lifts it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from gateway.audit.schemas import AuditEvent
from gateway.audit.service import AuditLog
from gateway.errors import BadRequest, NotFound, QuotaExceeded
from gateway.quotas.store import Block, Charge, QuotaStore
from policies import MatchRequest, Policy, decide_match_per_type

DAY = 86_400
MINUTE = 60


class QuotaRefused(QuotaExceeded):
    """A partner's request passes a quota or rate limit, or the partner is blocked.
    ``limit`` names which (for the audit log); the detail is what the partner is told."""

    def __init__(self, detail: str, *, limit: str, rule_id: str | None = None) -> None:
        super().__init__(detail)
        self.limit = limit
        self.rule_id = rule_id


@dataclass(frozen=True)
class ProbingAlert:
    partner: str
    window_start: datetime
    window_minutes: int
    checked: int
    misses: int
    blocked_until: datetime | None

    @property
    def miss_ratio(self) -> float:
        return self.misses / self.checked if self.checked else 0.0


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class QuotaService:
    def __init__(
        self, store: QuotaStore, audit: AuditLog, agency: str, clock: Callable[[], datetime]
    ) -> None:
        self._store = store
        self._audit = audit
        self._agency = agency
        self._clock = clock

    def admit_match(
        self, policy: Policy, partner: str, purpose: str, id_types: Sequence[str]
    ) -> None:
        """Count a match request against the partner's limits, or refuse it (QuotaRefused)
        without counting anything. ``id_types`` has one entry per identifier asked about."""
        now = _epoch(self._clock())
        block = self._store.blocked_until(partner, now)
        if block is not None:
            raise QuotaRefused(
                f"requests from '{partner}' are suspended until {_iso(block.blocked_until)} "
                "after a probing alert",
                limit="partner blocked",
            )
        per_type = Counter(id_types)
        decisions = decide_match_per_type(
            policy, MatchRequest(partner, purpose, tuple(sorted(per_type)))
        )
        charges: list[Charge] = []
        described: dict[Charge, tuple[str, str]] = {}
        identifiers: Counter[str] = Counter()
        obligations = {}
        for id_type, decision in decisions.items():
            if decision.allowed and decision.match is not None and decision.rule_id:
                identifiers[decision.rule_id] += per_type[id_type]
                obligations[decision.rule_id] = decision.match
        day = datetime.fromtimestamp(now, UTC)
        for rule_id, count in sorted(identifiers.items()):
            match = obligations[rule_id]
            if match.quota_per_day is not None:
                charge = Charge(
                    partner,
                    f"{rule_id}:identifiers/day",
                    day.strftime("%Y-%m-%d"),
                    count,
                    match.quota_per_day,
                    now - now % DAY + 2 * DAY,
                )
                charges.append(charge)
                described[charge] = (
                    rule_id,
                    f"quota exceeded: this request's {count} identifier(s) would pass the "
                    f"daily quota of {match.quota_per_day}; it renews at 00:00 UTC",
                )
            if match.rate_limit_per_minute is not None:
                charge = Charge(
                    partner,
                    f"{rule_id}:requests/minute",
                    day.strftime("%Y-%m-%dT%H:%M"),
                    1,
                    match.rate_limit_per_minute,
                    now - now % MINUTE + 2 * MINUTE,
                )
                charges.append(charge)
                described[charge] = (
                    rule_id,
                    f"rate limit exceeded: at most {match.rate_limit_per_minute} requests "
                    "per minute",
                )
        refused = self._store.charge_all(charges)
        if refused is not None:
            rule_id, detail = described[refused]
            per_day = refused.scope.endswith("/day")
            limit = "identifiers per day" if per_day else "requests per minute"
            raise QuotaRefused(detail, limit=limit, rule_id=rule_id)

    def observe_match(
        self, policy: Policy, partner: str, checked: int, misses: int
    ) -> ProbingAlert | None:
        """Count a partner's answered identifiers and misses; returns an alert the first
        time (across processes) its window crosses the policy's probing thresholds."""
        if checked <= 0:
            return None
        settings = policy.probing
        now = _epoch(self._clock())
        length = settings.window_minutes * MINUTE
        start = now - now % length
        window = datetime.fromtimestamp(start, UTC)
        key = window.strftime("%Y-%m-%dT%H:%M")
        totals = self._store.observe(partner, key, checked, misses, start + length + DAY)
        if (
            totals.alerted
            or totals.misses < settings.min_misses
            or totals.misses < settings.miss_ratio * totals.checked
            or not self._store.mark_alerted(partner, key)
        ):
            return None
        blocked_until = None
        if settings.block_minutes > 0:
            until = now + settings.block_minutes * MINUTE
            self._store.block(
                partner,
                until,
                f"probing alert: {totals.misses} misses of {totals.checked} identifiers "
                f"in {settings.window_minutes} minutes from {key}Z",
                now,
            )
            blocked_until = datetime.fromtimestamp(until, UTC)
        return ProbingAlert(
            partner, window, settings.window_minutes, totals.checked, totals.misses, blocked_until
        )

    def blocks(self) -> list[Block]:
        return self._store.blocks(_epoch(self._clock()))

    def unblock(self, partner: str, *, author: str, reason: str) -> Block:
        """Lift a partner's block before it ends (audited)."""
        if not author.strip() or not reason.strip():
            raise BadRequest("lifting a block needs an author and a reason")
        now = self._clock()
        block = self._store.blocked_until(partner, _epoch(now))
        if block is None or not self._store.unblock(partner):
            raise NotFound(f"partner '{partner}' is not blocked")
        self._audit.append(
            AuditEvent(
                channel="admin",
                requester_agency=self._agency,
                requester_user=author.strip(),
                query_type="partner-unblock",
                decision="allowed",
                recorded_at=now,
                outcome={
                    "partner": partner,
                    "reason": reason.strip(),
                    "was_blocked_until": _iso(block.blocked_until),
                },
            )
        )
        return block

    def forget_expired(self) -> None:
        self._store.forget_expired(_epoch(self._clock()))
