"""SQLAlchemy access to the audit table."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Engine,
    Float,
    Integer,
    String,
    Table,
    insert,
    select,
)

from gateway.audit.schemas import AuditEvent
from gateway.storage.metadata import metadata

audit_entries = Table(
    "audit_entries",
    metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("requester_agency", String(64), nullable=False),
    Column("requester_user", String(128), nullable=False),
    Column("responder_agency", String(64)),
    Column("purpose", String(128)),
    Column("case_reference", String(256)),
    Column("query_type", String(32), nullable=False),
    Column("identifier_types", JSON, nullable=False),
    Column("identifier_count", Integer, nullable=False),
    Column("decision", String(16), nullable=False),
    Column("rule_id", String(128)),
    Column("policy_version", String(64)),
    Column("rho_charged", Float),
    Column("latency_ms", Float),
    Column("outcome", JSON, nullable=False),
    Column("signatures", JSON, nullable=False),
)


def event_row(event: AuditEvent) -> dict[str, Any]:
    return {
        "recorded_at": event.recorded_at,
        "channel": event.channel,
        "requester_agency": event.requester_agency,
        "requester_user": event.requester_user,
        "responder_agency": event.responder_agency,
        "purpose": event.purpose,
        "case_reference": event.case_reference,
        "query_type": event.query_type,
        "identifier_types": dict(sorted(event.identifier_types.items())),
        "identifier_count": event.identifier_count,
        "decision": event.decision,
        "rule_id": event.rule_id,
        "policy_version": event.policy_version,
        "rho_charged": event.rho_charged,
        "latency_ms": event.latency_ms,
        "outcome": event.outcome,
        "signatures": event.signatures,
    }


class AuditStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def append(self, event: AuditEvent) -> int:
        with self._engine.begin() as conn:
            result = conn.execute(insert(audit_entries).values(**event_row(event)))
            return int(result.inserted_primary_key[0])  # type: ignore[index]

    def recent(self, limit: int = 100) -> Sequence[dict[str, Any]]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(audit_entries).order_by(audit_entries.c.seq.desc()).limit(limit)
            ).mappings()
            return [dict(row) for row in rows]
