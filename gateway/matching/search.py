"""Federated search for the agency's own analysts: canonicalise and blind the identifiers
here, ask every partner in parallel, and put the per-identifier, per-partner answer together.
Raw values never leave this function: partners receive tokens only."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any

from connectors.vocabulary import (
    IDENTIFIER_TYPES,
    VOCABULARY_VERSION,
    InvalidIdentifier,
    canonicalise,
    canonicalise_person,
)
from crypto.tokens import MatchKeyring
from gateway.audit.schemas import AuditEvent
from gateway.audit.service import AuditLog
from gateway.errors import BadRequest
from gateway.federation.client import PeerCall, PeerClient
from gateway.federation.manifest import Manifest
from gateway.matching.schemas import (
    IdentifierResult,
    PeerMatchAnswer,
    PeerOutcome,
    PeerReport,
    SearchAnswer,
    SearchIdentifier,
    SearchRequest,
)

MATCH_PATH = "/peer/v1/match"


def canonical_value(identifier: SearchIdentifier, default_region: str | None) -> str:
    """The canonical form of one requested identifier; InvalidIdentifier names what is wrong."""
    if identifier.type not in IDENTIFIER_TYPES:
        raise InvalidIdentifier(
            identifier.type, f"unknown identifier type; known: {', '.join(IDENTIFIER_TYPES)}"
        )
    if identifier.type == "person":
        if not identifier.name or not identifier.date_of_birth:
            raise InvalidIdentifier("person", "needs both 'name' and 'date_of_birth'")
        return canonicalise_person(identifier.name, identifier.date_of_birth)
    if not identifier.value:
        raise InvalidIdentifier(identifier.type, "needs a 'value'")
    return canonicalise(
        identifier.type,
        identifier.value,
        default_region=identifier.default_region or default_region,
        country=identifier.country,
    )


class FederatedSearch:
    def __init__(
        self,
        agency: str,
        keyring: MatchKeyring,
        query_epoch: int,
        manifest: Callable[[], Manifest],
        peers: PeerClient,
        audit: AuditLog,
        default_region: str | None,
        clock: Callable[[], datetime],
    ) -> None:
        self._agency = agency
        self._keyring = keyring
        self._epoch = query_epoch
        self._manifest = manifest
        self._peers = peers
        self._audit = audit
        self._region = default_region
        self._clock = clock

    async def search(self, request: SearchRequest, user: str) -> SearchAnswer:
        started = time.perf_counter()
        results: list[IdentifierResult] = []
        queries: list[dict[str, Any]] = []
        for index, identifier in enumerate(request.identifiers):
            try:
                value = canonical_value(identifier, self._region)
            except InvalidIdentifier as exc:
                results.append(
                    IdentifierResult(
                        index=index, type=identifier.type, status="invalid", error=str(exc)
                    )
                )
                continue
            token = self._keyring.token(identifier.type, self._epoch, value)
            queries.append(
                {
                    "ref": f"q{index}",
                    "id_type": identifier.type,
                    "epoch": self._epoch,
                    "token": token.hex(),
                }
            )
            results.append(IdentifierResult(index=index, type=identifier.type, status="searched"))
        if not queries:
            raise BadRequest(
                "no identifier could be searched: "
                + "; ".join(f"identifiers[{r.index}]: {r.error}" for r in results)
            )
        members = self._select_peers(request.peers)
        calls = await self._peers.fan_out(
            members,
            MATCH_PATH,
            {"vocabulary": VOCABULARY_VERSION, "queries": queries},
            purpose=request.purpose,
            case_reference=request.case_reference,
            user=user,
        )
        reports, outcomes = _read_answers(calls)
        unanswered = PeerOutcome(outcome="unanswered")
        final = [
            r.model_copy(
                update={
                    "peers": {
                        agency: outcomes.get(f"q{r.index}", {}).get(agency, unanswered)
                        for agency in sorted(calls)
                    }
                }
            )
            if r.status == "searched"
            else r
            for r in results
        ]
        answer = SearchAnswer(
            search_id=secrets.token_hex(8),
            purpose=request.purpose,
            case_reference=request.case_reference,
            results=final,
            peers=reports,
        )
        await asyncio.to_thread(self._record, answer, calls, user, started)
        return answer

    def _select_peers(self, wanted: list[str] | None) -> list[Any]:
        manifest = self._manifest()
        peers = list(manifest.peers_of(self._agency))
        if wanted is None:
            return peers
        known = {m.agency for m in peers}
        unknown = sorted(set(wanted) - known)
        if unknown:
            raise BadRequest(
                f"peers {', '.join(unknown)} are not partners in the federation; "
                f"partners: {', '.join(sorted(known))}"
            )
        return [m for m in peers if m.agency in set(wanted)]

    def _record(
        self, answer: SearchAnswer, calls: dict[str, PeerCall], user: str, started: float
    ) -> None:
        types = Counter(r.type for r in answer.results if r.status == "searched")
        hits = {
            agency: sum(
                1 for r in answer.results if agency in r.peers and r.peers[agency].outcome == "hit"
            )
            for agency in calls
        }
        self._audit.append(
            AuditEvent(
                channel="local",
                requester_agency=self._agency,
                requester_user=user,
                query_type="search",
                decision="allowed",
                recorded_at=self._clock(),
                purpose=answer.purpose,
                case_reference=answer.case_reference,
                identifier_types=dict(types),
                latency_ms=round((time.perf_counter() - started) * 1000, 2),
                outcome={
                    "search_id": answer.search_id,
                    "invalid": sum(1 for r in answer.results if r.status == "invalid"),
                    "peers": {
                        agency: {"status": c.status, "hits": hits[agency], "jti": c.jti}
                        for agency, c in sorted(calls.items())
                    },
                },
                signatures={a: c.signature for a, c in sorted(calls.items()) if c.signature},
            )
        )


def _read_answers(
    calls: dict[str, PeerCall],
) -> tuple[dict[str, PeerReport], dict[str, dict[str, PeerOutcome]]]:
    reports: dict[str, PeerReport] = {}
    outcomes: dict[str, dict[str, PeerOutcome]] = {}
    for agency, call in sorted(calls.items()):
        if call.status != "ok" or call.answer is None:
            reports[agency] = PeerReport(
                status=call.status, latency_ms=call.latency_ms, detail=call.detail
            )
            continue
        try:
            answer = PeerMatchAnswer.model_validate(call.answer)
        except ValueError:
            reports[agency] = PeerReport(
                status="error",
                latency_ms=call.latency_ms,
                detail="answer does not follow the schema",
            )
            continue
        all_denied = all(r.outcome == "denied" for r in answer.results)
        reports[agency] = PeerReport(
            status="denied" if all_denied else "ok",
            latency_ms=call.latency_ms,
            detail="policy allows none of these identifier types" if all_denied else None,
            policy_version=answer.policy_version,
        )
        for result in answer.results:
            outcomes.setdefault(result.ref, {})[agency] = PeerOutcome(
                outcome=result.outcome, disclosure=result.disclosure
            )
    return reports, outcomes
