"""Finding entries for an auditor: filters by time, partner, user, purpose, case reference,
query type, decision and channel, with keyset pagination on the sequence number. What is
returned is each entry's canonical document, the very bytes the tree commits to."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select

from gateway.audit.entry import utc
from gateway.audit.store import AuditStore, audit_entries

PAGE = 500
MAX_PAGES_PER_CALL = 40


@dataclass(frozen=True)
class EntryFilter:
    since: datetime | None = None
    until: datetime | None = None
    partner: str | None = None
    user: str | None = None
    purpose: str | None = None
    case_reference: str | None = None
    query_type: str | None = None
    decision: str | None = None
    channel: str | None = None

    def is_empty(self) -> bool:
        return all(v is None for v in asdict(self).values())

    def describe(self) -> dict[str, str]:
        return {
            k: (v.isoformat() if isinstance(v, datetime) else str(v))
            for k, v in asdict(self).items()
            if v is not None
        }


def partners_of(document: dict[str, Any]) -> set[str]:
    """Every agency an entry involves besides nobody: requester, responder and, for a
    fanned-out request, each partner asked."""
    found = {document.get("requester_agency"), document.get("responder_agency")}
    outcome = document.get("outcome")
    if isinstance(outcome, dict) and isinstance(outcome.get("peers"), dict):
        found.update(outcome["peers"])
    return {p for p in found if isinstance(p, str)}


def where_clauses(f: EntryFilter) -> list[ColumnElement[bool]]:
    c = audit_entries.c
    clauses: list[ColumnElement[bool]] = []
    if f.since is not None:
        clauses.append(c.recorded_at >= utc(f.since))
    if f.until is not None:
        clauses.append(c.recorded_at < utc(f.until))
    for column, value in (
        (c.requester_user, f.user),
        (c.purpose, f.purpose),
        (c.case_reference, f.case_reference),
        (c.query_type, f.query_type),
        (c.decision, f.decision),
        (c.channel, f.channel),
    ):
        if value is not None:
            clauses.append(column == value)
    if f.partner is not None:
        # Fanned-out requests name their partners only inside the outcome: checked below.
        clauses.append(
            or_(
                c.requester_agency == f.partner,
                c.responder_agency == f.partner,
                c.channel.in_(("local", "outbound")),
            )
        )
    return clauses


def matches(f: EntryFilter, document: dict[str, Any]) -> bool:
    return f.partner is None or f.partner in partners_of(document)


def search(
    store: AuditStore, f: EntryFilter, *, after_seq: int = 0, limit: int = 100
) -> tuple[list[dict[str, Any]], int | None]:
    """One page of matching entries and the cursor for the next page (None at the end).
    A call scans a bounded number of candidates, so a page may come back short (even
    empty) with a cursor: keep going until the cursor is None."""
    clauses = where_clauses(f)
    found: list[dict[str, Any]] = []
    cursor = after_seq
    for _ in range(MAX_PAGES_PER_CALL):
        with store.engine.connect() as conn:
            rows = conn.execute(
                select(audit_entries.c.seq, audit_entries.c.leaf)
                .where(and_(audit_entries.c.seq > cursor, *clauses))
                .order_by(audit_entries.c.seq)
                .limit(PAGE)
            ).all()
        for seq, text in rows:
            cursor = int(seq)
            document = json.loads(text) if text else {"seq": cursor}
            if matches(f, document):
                found.append(document)
                if len(found) >= limit:
                    return found, cursor
        if len(rows) < PAGE:
            return found, None
    return found, cursor
