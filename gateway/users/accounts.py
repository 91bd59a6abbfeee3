"""Local accounts: a username, a role and, for password login, an argon2id password hash
(argon2-cffi's defaults, re-hashed on login when they are raised). An account without a
password uses API tokens only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Column, DateTime, Engine, Row, String, Table, insert, select, update

from gateway.storage.metadata import metadata
from gateway.users.store import check_user

MIN_PASSWORD = 10
MAX_PASSWORD = 1024

local_accounts = Table(
    "local_accounts",
    metadata,
    Column("username", String(128), primary_key=True),
    Column("role", String(32), nullable=False),
    Column("password_hash", String(256)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
)


@dataclass(frozen=True)
class Account:
    username: str
    role: str
    has_password: bool
    created_at: datetime
    revoked_at: datetime | None


def check_password(password: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise ValueError(
            f"a password must be {MIN_PASSWORD}-{MAX_PASSWORD} characters long "
            f"(got {len(password)})"
        )


class AccountStore:
    def __init__(self, engine: Engine, hasher: PasswordHasher | None = None) -> None:
        self._engine = engine
        self._hasher = hasher or PasswordHasher()
        # Verified against when the account is unknown, so that an unknown username takes as
        # long to refuse as a wrong password.
        self._dummy = self._hasher.hash("cordon: no such account")

    def add(self, username: str, role: str, password: str | None, now: datetime) -> Account:
        """Create an account (or bring back a revoked one); ValueError says what is wrong."""
        check_user(username, role)
        if password is not None:
            check_password(password)
        hashed = self._hasher.hash(password) if password is not None else None
        a = local_accounts.c
        with self._engine.begin() as conn:
            existing = conn.execute(
                select(a.role, a.revoked_at).where(a.username == username)
            ).first()
            if existing is not None and existing.revoked_at is None:
                raise ValueError(
                    f"user '{username}' exists already (role {existing.role}); "
                    "revoke it first to change its role or password"
                )
            values = {"role": role, "password_hash": hashed, "created_at": now, "revoked_at": None}
            if existing is None:
                conn.execute(insert(local_accounts).values(username=username, **values))
            else:
                conn.execute(update(local_accounts).where(a.username == username).values(values))
        return Account(username, role, hashed is not None, now, None)

    def get(self, username: str) -> Account | None:
        with self._engine.connect() as conn:
            row = conn.execute(
                select(local_accounts).where(local_accounts.c.username == username)
            ).first()
        return _account(row) if row else None

    def list(self) -> list[Account]:
        with self._engine.connect() as conn:
            rows = conn.execute(select(local_accounts).order_by(local_accounts.c.username))
            return [_account(row) for row in rows]

    def verify(self, username: str, password: str) -> Account | None:
        """The live account if ``password`` is its password; ``None`` for every failure."""
        a = local_accounts.c
        with self._engine.connect() as conn:
            row = conn.execute(
                select(local_accounts).where(a.username == username, a.revoked_at.is_(None))
            ).first()
        stored = row.password_hash if row is not None else None
        try:
            self._hasher.verify(stored or self._dummy, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if row is None or stored is None:
            return None
        if self._hasher.check_needs_rehash(stored):
            with self._engine.begin() as conn:
                conn.execute(
                    update(local_accounts)
                    .where(a.username == username, a.password_hash == stored)
                    .values(password_hash=self._hasher.hash(password))
                )
        return _account(row)

    def revoke(self, username: str, now: datetime) -> bool:
        a = local_accounts.c
        with self._engine.begin() as conn:
            result = conn.execute(
                update(local_accounts)
                .where(a.username == username, a.revoked_at.is_(None))
                .values(revoked_at=now)
            )
        return result.rowcount > 0


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _account(row: Row[Any]) -> Account:
    return Account(
        username=row.username,
        role=row.role,
        has_password=row.password_hash is not None,
        created_at=_utc(row.created_at),
        revoked_at=_utc(row.revoked_at) if row.revoked_at is not None else None,
    )
