"""SQLAlchemy access to the stored policy versions. Versions are numbered 1, 2, 3... and never
changed or deleted; the version in force is the one with the highest number."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Index,
    Integer,
    String,
    Table,
    Text,
    func,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError

from gateway.audit.store import audit_entries
from gateway.storage.metadata import metadata

Action = Literal["initial", "apply", "rollback"]

policy_versions = Table(
    "policy_versions",
    metadata,
    Column("number", Integer, primary_key=True, autoincrement=False),
    Column("version_hash", String(64), nullable=False),
    Column("text", Text, nullable=False),
    Column("author", String(128), nullable=False),
    Column("reason", Text, nullable=False),
    Column("action", String(16), nullable=False),
    Column("restores", Integer),
    Column("applied_at", DateTime(timezone=True), nullable=False),
    Index("ix_policy_versions_version_hash", "version_hash"),
)

REPLAYED_QUERY_TYPES = ("match", "aggregate")


@dataclass(frozen=True)
class VersionRef:
    """Which version is in force: enough to tell whether a cached policy is still current."""

    number: int
    version_hash: str


@dataclass(frozen=True)
class StoredVersion:
    number: int
    version_hash: str
    text: str
    author: str
    reason: str
    action: str
    restores: int | None
    applied_at: datetime

    @property
    def ref(self) -> VersionRef:
        return VersionRef(self.number, self.version_hash)

    @property
    def label(self) -> str:
        return f"v{self.number}"


@dataclass(frozen=True)
class AuditedRequest:
    """A peer request as the audit log recorded it: what a dry-run replays."""

    seq: int
    recorded_at: datetime
    partner: str
    purpose: str | None
    query_type: str
    identifier_types: dict[str, int]
    policy_version: str | None
    outcome: dict[str, Any]


class VersionConflict(Exception):
    """Another process stored a version with the same number first."""


def as_utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything Cordon stores is UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _version(row: Any) -> StoredVersion:
    return StoredVersion(
        number=row.number,
        version_hash=row.version_hash,
        text=row.text,
        author=row.author,
        reason=row.reason,
        action=row.action,
        restores=row.restores,
        applied_at=as_utc(row.applied_at),
    )


class PolicyVersionStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def latest_ref(self) -> VersionRef | None:
        """The version in force, by one primary-key lookup (cheap enough for every request)."""
        query = (
            select(policy_versions.c.number, policy_versions.c.version_hash)
            .order_by(policy_versions.c.number.desc())
            .limit(1)
        )
        with self._engine.connect() as conn:
            row = conn.execute(query).first()
        return VersionRef(row[0], row[1]) if row else None

    def get(self, number: int) -> StoredVersion | None:
        with self._engine.connect() as conn:
            row = conn.execute(
                select(policy_versions).where(policy_versions.c.number == number)
            ).first()
        return _version(row) if row else None

    def latest(self) -> StoredVersion | None:
        ref = self.latest_ref()
        return self.get(ref.number) if ref else None

    def by_hash_prefix(self, prefix: str) -> list[StoredVersion]:
        """Versions whose hash starts with ``prefix`` (lower-case hex), newest first."""
        query = (
            select(policy_versions)
            .where(policy_versions.c.version_hash.startswith(prefix, autoescape=True))
            .order_by(policy_versions.c.number.desc())
        )
        with self._engine.connect() as conn:
            return [_version(row) for row in conn.execute(query)]

    def text_of_hash(self, version_hash: str) -> str | None:
        query = (
            select(policy_versions.c.text)
            .where(policy_versions.c.version_hash == version_hash)
            .order_by(policy_versions.c.number.desc())
            .limit(1)
        )
        with self._engine.connect() as conn:
            row = conn.execute(query).first()
        return str(row[0]) if row else None

    def history(self, limit: int) -> list[StoredVersion]:
        query = select(policy_versions).order_by(policy_versions.c.number.desc()).limit(limit)
        with self._engine.connect() as conn:
            return [_version(row) for row in conn.execute(query)]

    def all_versions(self) -> list[StoredVersion]:
        with self._engine.connect() as conn:
            query = select(policy_versions).order_by(policy_versions.c.number)
            return [_version(row) for row in conn.execute(query)]

    def count(self) -> int:
        with self._engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(policy_versions)).scalar_one())

    def append(
        self,
        *,
        expected_latest: int | None,
        version_hash: str,
        text: str,
        author: str,
        reason: str,
        action: Action,
        restores: int | None,
        applied_at: datetime,
    ) -> StoredVersion:
        """Store the next version, if the latest is still ``expected_latest`` (``None``: there
        is none yet). Raises :class:`VersionConflict` when another version came first."""
        number = (expected_latest or 0) + 1
        row: dict[str, Any] = {
            "number": number,
            "version_hash": version_hash,
            "text": text,
            "author": author,
            "reason": reason,
            "action": action,
            "restores": restores,
            "applied_at": applied_at,
        }
        try:
            with self._engine.begin() as conn:
                latest = conn.execute(select(func.max(policy_versions.c.number))).scalar()
                if latest != expected_latest:
                    raise VersionConflict(f"version {latest} is now the latest")
                conn.execute(insert(policy_versions).values(**row))
        except IntegrityError as exc:  # PostgreSQL: a concurrent insert of the same number
            raise VersionConflict(f"version {number} was stored by another process") from exc
        return StoredVersion(**{**row, "applied_at": as_utc(applied_at)})

    def peer_requests_since(self, since: datetime) -> Iterator[AuditedRequest]:
        """Peer match and aggregate requests audited at or after ``since``, oldest first,
        streamed in pages."""
        a = audit_entries.c
        query = (
            select(
                a.seq,
                a.recorded_at,
                a.requester_agency,
                a.purpose,
                a.query_type,
                a.identifier_types,
                a.policy_version,
                a.outcome,
            )
            .where(
                a.channel == "peer",
                a.recorded_at >= since,
                a.query_type.in_(REPLAYED_QUERY_TYPES),
            )
            .order_by(a.seq)
            .execution_options(yield_per=1000)
        )
        with self._engine.connect() as conn:
            for row in conn.execute(query):
                yield AuditedRequest(
                    seq=row.seq,
                    recorded_at=as_utc(row.recorded_at),
                    partner=row.requester_agency,
                    purpose=row.purpose,
                    query_type=row.query_type,
                    identifier_types=dict(row.identifier_types or {}),
                    policy_version=row.policy_version,
                    outcome=dict(row.outcome or {}),
                )
