"""Fixtures for the audit log tests: a real SQLite (or PostgreSQL) node database, a signing
key, a clock the test moves, and events that look like the ones capabilities append."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from crypto.keys import generate_signing_key, public_key_to_text
from gateway.audit.export import ExportRequest, jsonl
from gateway.audit.schemas import AuditEvent
from gateway.audit.service import AuditLog
from gateway.storage.database import open_engine, upgrade

START = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


@dataclass
class Clock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def event(i: int, **overrides: Any) -> AuditEvent:
    fields: dict[str, Any] = {
        "channel": "peer",
        "requester_agency": ("customs", "intel")[i % 2],
        "requester_user": f"analyst-{i % 5}",
        "query_type": "match",
        "decision": "denied" if i % 7 == 0 else "allowed",
        "recorded_at": START + timedelta(minutes=i),
        "purpose": "organised-crime",
        "case_reference": f"CASE-{i % 3}",
        "identifier_types": {"phone": 1 + i % 2},
        "rule_id": "rule-1",
        "policy_version": "v1",
        "rho_charged": 0.01 * (i % 4),
        "latency_ms": 10.0 + i,
        "outcome": {"hits": i % 3, "jti": f"jti-{i}"},
        "signatures": {"answer": f"sig-{i}"},
    }
    fields.update(overrides)
    return AuditEvent(**fields)


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return generate_signing_key()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'node.db'}"


@pytest.fixture
def audit_log(database_url: str, key: Ed25519PrivateKey, clock: Clock) -> Iterator[AuditLog]:
    engine = open_engine(database_url)
    upgrade(engine)
    log = AuditLog(engine, agency="police", signing_key=key, clock=clock)
    try:
        yield log
    finally:
        log.close()
        engine.dispose()


def fill(log: AuditLog, count: int, *, checkpoint_every: int = 0, start: int = 0) -> None:
    for i in range(start, start + count):
        log.append(event(i))
        if checkpoint_every and (i + 1) % checkpoint_every == 0:
            log.issue_checkpoint()


def export_to(
    log: AuditLog, path: Path, key: Ed25519PrivateKey, request: ExportRequest | None = None
) -> Path:
    text = public_key_to_text(key.public_key())
    path.write_bytes(b"".join(jsonl(log, request or ExportRequest(), text)))
    return path
