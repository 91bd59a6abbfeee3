"""Counters that stay correct across processes sharing one database: quota and rate-limit
counters, probing windows, and temporary partner blocks.

A charge is one ``INSERT ... ON CONFLICT DO UPDATE ... WHERE used + n <= limit RETURNING`` per
counter row: the database adds to the row only while the limit holds, and the row lock (or
SQLite's write lock, taken at BEGIN) serialises concurrent charges. Several charges are made
in one transaction, in key order, and rolled back together when any of them would pass its
limit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Engine,
    Index,
    String,
    Table,
    Text,
    delete,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from gateway.storage.metadata import metadata

quota_counters = Table(
    "quota_counters",
    metadata,
    Column("subject", String(160), primary_key=True),
    Column("scope", String(160), primary_key=True),
    Column("window_start", String(20), primary_key=True),
    Column("used", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Index("ix_quota_counters_expires_at", "expires_at"),
)

probe_windows = Table(
    "probe_windows",
    metadata,
    Column("partner", String(64), primary_key=True),
    Column("window_start", String(20), primary_key=True),
    Column("checked", BigInteger, nullable=False),
    Column("misses", BigInteger, nullable=False),
    Column("alerted", Boolean, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Index("ix_probe_windows_expires_at", "expires_at"),
)

partner_blocks = Table(
    "partner_blocks",
    metadata,
    Column("partner", String(64), primary_key=True),
    Column("blocked_until", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)


@dataclass(frozen=True)
class Charge:
    """Add ``amount`` to the counter (subject, scope, window) unless it would pass ``limit``.
    ``expires_at`` (epoch seconds) is when the row may be swept."""

    subject: str
    scope: str
    window: str
    amount: int
    limit: int
    expires_at: int

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.subject, self.scope, self.window)


@dataclass(frozen=True)
class ProbeWindow:
    checked: int
    misses: int
    alerted: bool


@dataclass(frozen=True)
class Block:
    partner: str
    blocked_until: int
    reason: str
    created_at: int


def _insert(conn: Connection, table: Table) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    if conn.dialect.name == "sqlite":
        return sqlite.insert(table)
    raise RuntimeError(f"no upsert for database {conn.dialect.name}")  # pragma: no cover


class QuotaStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def charge_all(self, charges: Sequence[Charge]) -> Charge | None:
        """Make every charge or none; returns the first charge that would pass its limit."""
        if not charges:
            return None
        with self._engine.connect() as conn:
            transaction = conn.begin()
            try:
                for charge in sorted(charges, key=lambda c: c.key):
                    if not self._charge(conn, charge):
                        transaction.rollback()
                        return charge
                transaction.commit()
            except BaseException:
                transaction.rollback()
                raise
        return None

    def _charge(self, conn: Connection, charge: Charge) -> bool:
        if charge.amount > charge.limit:
            return False
        c = quota_counters.c
        stmt = _insert(conn, quota_counters).values(
            subject=charge.subject,
            scope=charge.scope,
            window_start=charge.window,
            used=charge.amount,
            expires_at=charge.expires_at,
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[c.subject, c.scope, c.window_start],
            set_={"used": c.used + stmt.excluded.used},
            where=c.used + stmt.excluded.used <= charge.limit,
        ).returning(c.used)
        return conn.execute(stmt).first() is not None

    def used(self, subject: str, scope: str, window: str) -> int:
        c = quota_counters.c
        with self._engine.connect() as conn:
            value = conn.execute(
                select(c.used).where(
                    c.subject == subject, c.scope == scope, c.window_start == window
                )
            ).scalar()
        return int(value or 0)

    def observe(
        self, partner: str, window: str, checked: int, misses: int, expires_at: int
    ) -> ProbeWindow:
        """Add to a partner's probing window; returns the window's totals."""
        p = probe_windows.c
        with self._engine.begin() as conn:
            stmt = _insert(conn, probe_windows).values(
                partner=partner,
                window_start=window,
                checked=checked,
                misses=misses,
                alerted=False,
                expires_at=expires_at,
            )
            stmt = stmt.on_conflict_do_update(
                index_elements=[p.partner, p.window_start],
                set_={
                    "checked": p.checked + stmt.excluded.checked,
                    "misses": p.misses + stmt.excluded.misses,
                },
            ).returning(p.checked, p.misses, p.alerted)
            row = conn.execute(stmt).one()
        return ProbeWindow(int(row[0]), int(row[1]), bool(row[2]))

    def mark_alerted(self, partner: str, window: str) -> bool:
        """Flag the window as alerted; True for exactly one caller across processes."""
        p = probe_windows.c
        with self._engine.begin() as conn:
            result = conn.execute(
                update(probe_windows)
                .where(p.partner == partner, p.window_start == window, p.alerted.is_(False))
                .values(alerted=True)
            )
        return result.rowcount == 1

    def block(self, partner: str, until: int, reason: str, now: int) -> None:
        b = partner_blocks.c
        with self._engine.begin() as conn:
            stmt = _insert(conn, partner_blocks).values(
                partner=partner, blocked_until=until, reason=reason, created_at=now
            )
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=[b.partner],
                    set_={"blocked_until": until, "reason": reason, "created_at": now},
                )
            )

    def blocked_until(self, partner: str, now: int) -> Block | None:
        b = partner_blocks.c
        with self._engine.connect() as conn:
            row = conn.execute(
                select(partner_blocks).where(b.partner == partner, b.blocked_until > now)
            ).first()
        return Block(row.partner, row.blocked_until, row.reason, row.created_at) if row else None

    def blocks(self, now: int) -> list[Block]:
        b = partner_blocks.c
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(partner_blocks).where(b.blocked_until > now).order_by(b.partner)
            )
            return [Block(r.partner, r.blocked_until, r.reason, r.created_at) for r in rows]

    def unblock(self, partner: str) -> bool:
        with self._engine.begin() as conn:
            result = conn.execute(delete(partner_blocks).where(partner_blocks.c.partner == partner))
        return result.rowcount > 0

    def forget_expired(self, now: int) -> None:
        with self._engine.begin() as conn:
            conn.execute(delete(quota_counters).where(quota_counters.c.expires_at < now))
            conn.execute(delete(probe_windows).where(probe_windows.c.expires_at < now))
            conn.execute(delete(partner_blocks).where(partner_blocks.c.blocked_until < now))
