"""The peer-side matcher: answers a partner's blinded tokens with hit or no hit, as far as
the node's policy allows, and with what the policy lets a hit disclose.

A token the policy does not cover is answered ``denied``; a record the policy hides
(subject category, handling code, dataset) answers exactly as a missing record does.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from gateway.matching.schemas import Disclosure, PeerMatchAnswer, PeerMatchRequest, TokenResult
from gateway.matching.store import HitFilter, IndexedHit, MatchStore
from policies import MatchObligations, MatchRequest, Policy, PolicyDecision, decide_match_per_type

MINOR = "minor"


@dataclass(frozen=True)
class MatchOutcome:
    answer: PeerMatchAnswer
    decisions: dict[str, PolicyDecision]
    hits: int
    denied: int

    @property
    def decision(self) -> str:
        allowed = [d for d in self.decisions.values() if d.allowed]
        if not allowed:
            return "denied"
        return "allowed" if len(allowed) == len(self.decisions) else "partial"

    @property
    def rule_ids(self) -> list[str]:
        return sorted({d.rule_id for d in self.decisions.values() if d.rule_id})


class PeerMatcher:
    def __init__(
        self,
        agency: str,
        store: MatchStore,
        epochs: tuple[int, ...],
        contact_point: str,
        clock: Callable[[], datetime],
    ) -> None:
        self._agency = agency
        self._store = store
        self._epochs = frozenset(epochs)
        self._contact_point = contact_point
        self._clock = clock

    def answer(
        self,
        policy: Policy,
        partner: str,
        purpose: str,
        case_reference: str,
        request_jti: str,
        request: PeerMatchRequest,
    ) -> MatchOutcome:
        types = tuple(sorted({q.id_type for q in request.queries}))
        decisions = decide_match_per_type(policy, MatchRequest(partner, purpose, types))
        results: dict[str, TokenResult] = {}
        # Group the allowed queries by (epoch, obligations) so each group is one index lookup.
        groups: dict[tuple[int, MatchObligations], list[tuple[str, str, bytes]]] = defaultdict(list)
        denied = 0
        for query in request.queries:
            decision = decisions.get(query.id_type)
            if (
                decision is None
                or not decision.allowed
                or decision.match is None
                or query.epoch not in self._epochs
            ):
                results[query.ref] = TokenResult(ref=query.ref, outcome="denied")
                denied += 1
                continue
            groups[(query.epoch, decision.match)].append(
                (query.ref, query.id_type, bytes.fromhex(query.token))
            )
        contact_point = policy.follow_up.contact_point if policy.follow_up else self._contact_point
        hits = 0
        reference_rows: list[dict[str, object]] = []
        now = self._clock()
        for (epoch, obligations), queries in groups.items():
            hit_filter = HitFilter(
                id_types=frozenset(t for _, t, _ in queries),
                datasets=obligations.datasets,
                subject_categories=obligations.subject_categories,
                handling_codes=obligations.handling_codes,
            )
            found: dict[tuple[str, bytes], list[IndexedHit]] = defaultdict(list)
            for row in self._store.lookup(epoch, [tok for _, _, tok in queries], hit_filter):
                found[(row.id_type, row.token)].append(row)
            for ref, id_type, token in queries:
                rows = found.get((id_type, token))
                if not rows:
                    results[ref] = TokenResult(ref=ref, outcome="no_hit")
                    continue
                hits += 1
                disclosure, reference = self._disclose(rows, obligations, contact_point)
                results[ref] = TokenResult(ref=ref, outcome="hit", disclosure=disclosure)
                if reference is not None:
                    reference_rows.extend(
                        {
                            "reference": reference,
                            "dataset": dataset,
                            "record_ref": record_ref,
                            "partner": partner,
                            "id_type": id_type,
                            "purpose": purpose,
                            "case_reference": case_reference,
                            "created_at": now,
                        }
                        for dataset, record_ref in sorted({(r.dataset, r.record_ref) for r in rows})
                    )
        self._store.record_hit_references(reference_rows)
        answer = PeerMatchAnswer(
            responder=self._agency,
            request_jti=request_jti,
            policy_version=policy.version_hash,
            results=[results[q.ref] for q in request.queries],
        )
        return MatchOutcome(answer, decisions, hits, denied)

    def _disclose(
        self, rows: list[IndexedHit], obligations: MatchObligations, contact_point: str
    ) -> tuple[Disclosure | None, str | None]:
        visible = rows
        if obligations.minors_hit_only:
            visible = [r for r in rows if r.subject_category != MINOR]
        if not visible or not obligations.disclose:
            return None, None
        fields = obligations.disclose
        reference = f"hit-{secrets.token_hex(12)}" if "hit_reference" in fields else None
        dates = sorted(r.recorded_on for r in visible if r.recorded_on is not None)
        disclosure = Disclosure(
            hit_reference=reference,
            contact_point=contact_point if "contact_point" in fields else None,
            record_category=sorted({r.subject_category for r in visible})
            if "record_category" in fields
            else None,
            date_range=[dates[0].strftime("%Y-%m"), dates[-1].strftime("%Y-%m")]
            if "date_range" in fields and dates
            else None,
        )
        return disclosure, reference
