"""What this node saw as a witness of its partners' logs: every checkpoint it fetched, the
verdict it reached and its own cosignature; and the alerts it raised (a checkpoint that does
not verify, or two that cannot both be true)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Engine,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError

from crypto.checkpoint import SignedCheckpoint
from gateway.storage.metadata import metadata

_ID = BigInteger().with_variant(Integer, "sqlite")

Verdict = Literal["first", "consistent", "stale", "inconsistent", "bad-signature"]
AlertKind = Literal["inconsistent", "split-view", "bad-signature", "rolled-back"]
#: Verdicts that make a checkpoint a reference for the next ones.
TRUSTED: tuple[Verdict, ...] = ("first", "consistent", "stale")

audit_witnessed = Table(
    "audit_witnessed",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("partner", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("root", LargeBinary(32), nullable=False),
    Column("checkpoint", Text, nullable=False),
    Column("cosignature", Text),
    Column("verdict", String(16), nullable=False),
    Column("detail", Text),
    Column("seen_at", DateTime(timezone=True), nullable=False),
    Index("ix_audit_witnessed_partner_size", "partner", "size"),
)

audit_alerts = Table(
    "audit_alerts",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("partner", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("detail", Text, nullable=False),
    Column("evidence", JSON, nullable=False),
    Column("fingerprint", String(64), nullable=False, unique=True),
    Column("raised_at", DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True)
class Observation:
    partner: str
    size: int
    root: bytes
    checkpoint: str
    verdict: Verdict
    seen_at: datetime
    cosignature: str | None = None
    detail: str | None = None

    def signed(self) -> SignedCheckpoint:
        return SignedCheckpoint.from_text(self.checkpoint)

    def as_dict(self) -> dict[str, Any]:
        return {
            "partner": self.partner,
            "size": self.size,
            "root": self.root.hex(),
            "checkpoint": self.checkpoint,
            "verdict": self.verdict,
            "seen_at": self.seen_at.isoformat(),
            "cosignature": self.cosignature,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class Alert:
    partner: str
    kind: AlertKind
    detail: str
    evidence: list[str]
    raised_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "partner": self.partner,
            "kind": self.kind,
            "detail": self.detail,
            "evidence": self.evidence,
            "raised_at": self.raised_at.isoformat(),
        }


class WitnessStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def record(self, observation: Observation) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                insert(audit_witnessed).values(
                    partner=observation.partner,
                    size=observation.size,
                    root=observation.root,
                    checkpoint=observation.checkpoint,
                    cosignature=observation.cosignature,
                    verdict=observation.verdict,
                    detail=observation.detail,
                    seen_at=observation.seen_at,
                )
            )

    def reference(self, partner: str) -> Observation | None:
        """The largest checkpoint of ``partner`` this node accepted: the next one must be
        consistent with it."""
        rows = self._select(
            select(audit_witnessed)
            .where(audit_witnessed.c.partner == partner, audit_witnessed.c.verdict.in_(TRUSTED))
            .order_by(audit_witnessed.c.size.desc(), audit_witnessed.c.id.desc())
            .limit(1)
        )
        return rows[0] if rows else None

    def observations(self, partner: str | None = None, limit: int = 100) -> list[Observation]:
        query = select(audit_witnessed).order_by(audit_witnessed.c.id.desc()).limit(limit)
        if partner is not None:
            query = query.where(audit_witnessed.c.partner == partner)
        return self._select(query)

    def _select(self, query: Any) -> list[Observation]:
        with self._engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            Observation(
                partner=r["partner"],
                size=int(r["size"]),
                root=bytes(r["root"]),
                checkpoint=r["checkpoint"],
                verdict=r["verdict"],
                seen_at=r["seen_at"],
                cosignature=r["cosignature"],
                detail=r["detail"],
            )
            for r in rows
        ]

    def raise_alert(self, alert: Alert) -> bool:
        """Store ``alert``; False when the same alert (same partner, kind and evidence) was
        raised before, so a lasting fault is reported once."""
        digest = hashlib.sha256(
            json.dumps([alert.partner, alert.kind, sorted(alert.evidence)]).encode()
        ).hexdigest()
        try:
            with self._engine.begin() as conn:
                conn.execute(
                    insert(audit_alerts).values(
                        partner=alert.partner,
                        kind=alert.kind,
                        detail=alert.detail,
                        evidence=alert.evidence,
                        fingerprint=digest,
                        raised_at=alert.raised_at,
                    )
                )
        except IntegrityError:
            return False
        return True

    def alerts(self, partner: str | None = None, limit: int = 100) -> list[Alert]:
        query = select(audit_alerts).order_by(audit_alerts.c.id.desc()).limit(limit)
        if partner is not None:
            query = query.where(audit_alerts.c.partner == partner)
        with self._engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            Alert(r["partner"], r["kind"], r["detail"], list(r["evidence"]), r["raised_at"])
            for r in rows
        ]
