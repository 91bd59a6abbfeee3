"""The questions a node puts to its policy, and the answers: a decision with the obligations
the node must honour when it answers the partner."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class MatchRequest:
    """A partner asks whether identifiers of these types hit. ``dataset`` narrows the search
    to one dataset; ``None`` searches every dataset the policy lets it search."""

    partner: str
    purpose: str
    identifier_types: tuple[str, ...]
    dataset: str | None = None


@dataclass(frozen=True, slots=True)
class AggregateRequest:
    """A partner asks for a differentially private aggregate over ``dataset`` using
    ``columns`` (in filters and sums), grouped by ``group_by`` (empty: an overall total),
    spending privacy loss ``rho`` (zCDP)."""

    partner: str
    purpose: str
    dataset: str
    columns: tuple[str, ...]
    group_by: tuple[str, ...]
    rho: float


@dataclass(frozen=True, slots=True)
class MatchObligations:
    """How the node must answer an allowed match request.

    ``datasets``: search only these (``None``: all). Only records whose subject category is in
    ``subject_categories`` and whose handling code is in ``handling_codes`` may hit. A hit
    reveals the ``disclose`` fields, except on a minor when ``minors_hit_only``, where it
    reveals only the hit. ``quota_per_day`` counts identifiers checked per partner per day and
    ``rate_limit_per_minute`` requests per partner per minute (``None``: no limit).
    """

    datasets: frozenset[str] | None
    subject_categories: frozenset[str]
    handling_codes: frozenset[str]
    disclose: frozenset[str]
    minors_hit_only: bool
    notify_owner: bool
    quota_per_day: int | None
    rate_limit_per_minute: int | None


@dataclass(frozen=True, slots=True)
class AggregateObligations:
    """How the node must answer an allowed aggregate request: suppress groups smaller than
    ``min_group_size``; charge the ledger ``rho`` against ``rho_per_period`` for this partner
    and dataset per ``period`` and against the global cap (when set) before answering; a
    question whose group keys are chosen by a DP threshold also charges delta."""

    dataset: str
    columns: frozenset[str]
    group_by: tuple[frozenset[str], ...]
    min_group_size: int
    rho_per_query: float
    rho_per_period: float
    period: str
    global_cap_rho: float | None
    global_cap_period: str | None
    mechanism: str = "discrete_gaussian"
    # Key selection by a DP threshold (columns without public values) spends delta too;
    # ``None`` means the grant allows only public keys.
    delta_per_query: float | None = None
    delta_per_period: float | None = None
    global_cap_delta: float | None = None


@dataclass(frozen=True, slots=True)
class PolicyDecision:
    """The policy's answer to one request.

    ``rule_id`` is the rule that allowed it (``None`` when denied: deny is the default).
    For matching, ``allowed_types`` are the requested identifier types some rule grants; the
    request is allowed when there is at least one. When different rules grant different types,
    ``rule_ids`` lists them in document order, ``rule_id`` is the first, ``match`` the strictest
    combination of their obligations (use :func:`policies.decide_match_per_type` to apply
    each rule's own obligations to its own types).
    """

    allowed: bool
    rule_id: str | None
    reason: str
    policy_version: str
    allowed_types: frozenset[str] = frozenset()
    match: MatchObligations | None = None
    aggregate: AggregateObligations | None = None
    rule_ids: tuple[str, ...] = ()

    @classmethod
    def deny(cls, reason: str, policy_version: str) -> PolicyDecision:
        """A denial: no rule, no obligations."""
        return cls(allowed=False, rule_id=None, reason=reason, policy_version=policy_version)
