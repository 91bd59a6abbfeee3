"""Summary figures for auditors, per partner, direction and period: how many queries, how many
denied or failed, how many hits, the privacy budget spent (sum of zCDP rho charged) and the
response time (p50 and p99, nearest rank) — the interagency response times agencies track.

``inbound`` rows are partners' requests to this node; ``outbound`` rows are this node's
requests to partners. A request fanned out to several partners counts once per partner, with
that partner's status and hits; its rho is attributed only when it went to one partner.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from sqlalchemy import and_, select

from gateway.audit.entry import parse_time
from gateway.audit.search import PAGE, EntryFilter, where_clauses
from gateway.audit.store import AuditStore, audit_entries

Period = Literal["day", "week", "month", "all"]
PERIODS: tuple[Period, ...] = ("day", "week", "month", "all")


@dataclass
class _Figures:
    queries: int = 0
    denied: int = 0
    failed: int = 0
    hits: int = 0
    rho: Decimal = field(default_factory=Decimal)
    latencies: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class Contribution:
    partner: str
    direction: Literal["inbound", "outbound", "local"]
    decision: str
    hits: int
    rho: Decimal
    latency_ms: float | None


def period_of(moment: datetime, period: Period) -> str:
    if period == "day":
        return moment.strftime("%Y-%m-%d")
    if period == "week":
        year, week, _ = moment.isocalendar()
        return f"{year}-W{week:02d}"
    if period == "month":
        return moment.strftime("%Y-%m")
    return "all"


def _number(value: Any) -> Decimal:
    try:
        result = Decimal(str(value)) if value is not None else Decimal(0)
    except InvalidOperation:
        return Decimal(0)
    return result if result.is_finite() else Decimal(0)


def _latency(value: Any) -> float | None:
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return result if math.isfinite(result) else None


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def contributions(document: dict[str, Any], agency: str) -> Iterator[Contribution]:
    """What one entry adds to which partner's figures."""
    decision = str(document.get("decision"))
    rho = _number(document.get("rho_charged"))
    latency = _latency(document.get("latency_ms"))
    raw_outcome = document.get("outcome")
    outcome: dict[str, Any] = raw_outcome if isinstance(raw_outcome, dict) else {}
    requester = document.get("requester_agency")
    if requester != agency:
        yield Contribution(str(requester), "inbound", decision, _int(outcome.get("hits")), rho,
                           latency)  # fmt: skip
        return
    responder = document.get("responder_agency")
    if isinstance(responder, str):
        yield Contribution(responder, "outbound", decision, _int(outcome.get("hits")), rho, latency)
        return
    peers = outcome.get("peers")
    if not isinstance(peers, dict) or not peers:
        yield Contribution("(local)", "local", decision, 0, rho, latency)
        return
    for partner, report in sorted(peers.items()):
        status = report.get("status") if isinstance(report, dict) else report
        hits = _int(report.get("hits")) if isinstance(report, dict) else 0
        own = _latency(report.get("latency_ms")) if isinstance(report, dict) else None
        peer_decision = {"ok": "allowed", "denied": "denied"}.get(str(status), "failed")
        yield Contribution(
            partner,
            "outbound",
            peer_decision,
            hits,
            rho if len(peers) == 1 else Decimal(0),
            own if own is not None else latency,
        )


def percentile(samples: list[float], q: float) -> float | None:
    """Nearest-rank percentile: the smallest sample with at least q% of samples <= it."""
    if not samples:
        return None
    ordered = sorted(samples)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def summarise(
    documents: Iterable[dict[str, Any]], agency: str, period: Period, partner: str | None = None
) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str, str], _Figures] = defaultdict(_Figures)
    for document in documents:
        moment = parse_time(str(document["time"]))
        for c in contributions(document, agency):
            if partner is not None and c.partner != partner:
                continue
            figures = groups[(c.partner, c.direction, period_of(moment, period))]
            figures.queries += 1
            figures.denied += c.decision == "denied"
            figures.failed += c.decision == "failed"
            figures.hits += c.hits
            figures.rho += c.rho
            if c.latency_ms is not None:
                figures.latencies.append(c.latency_ms)
    return [
        {
            "partner": key[0],
            "direction": key[1],
            "period": key[2],
            "queries": f.queries,
            "denied": f.denied,
            "failed": f.failed,
            "hits": f.hits,
            "rho_spent": str(f.rho),
            "latency_p50_ms": percentile(f.latencies, 50),
            "latency_p99_ms": percentile(f.latencies, 99),
        }
        for key, f in sorted(groups.items())
    ]


def documents(store: AuditStore, f: EntryFilter) -> Iterator[dict[str, Any]]:
    """Every entry matching the time range of ``f`` (other filters apply in the summary)."""
    clauses = where_clauses(EntryFilter(since=f.since, until=f.until))
    cursor = 0
    while True:
        with store.engine.connect() as conn:
            rows = conn.execute(
                select(audit_entries.c.seq, audit_entries.c.leaf)
                .where(and_(audit_entries.c.seq > cursor, *clauses))
                .order_by(audit_entries.c.seq)
                .limit(PAGE * 4)
            ).all()
        for seq, text in rows:
            cursor = int(seq)
            if text:
                yield json.loads(text)
        if len(rows) < PAGE * 4:
            return
