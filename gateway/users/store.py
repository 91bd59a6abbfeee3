"""Local API tokens, stored only as SHA-256 hashes (the tokens are 256-bit random secrets,
so a fast hash is enough; passwords use argon2, see ``accounts.py``). A token is revocable;
one minted at password login also expires."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Engine,
    LargeBinary,
    String,
    Table,
    case,
    func,
    insert,
    or_,
    select,
    update,
)

from gateway.storage.metadata import metadata

ROLES = ("analyst", "dpo", "auditor", "officer", "admin")
TOKEN_PREFIX = "cordon_"  # noqa: S105 - the public prefix of every token

local_tokens = Table(
    "local_tokens",
    metadata,
    Column("token_hash", LargeBinary(32), primary_key=True),
    Column("token_id", String(32), nullable=False, unique=True),
    Column("username", String(128), nullable=False),
    Column("role", String(32), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    Column("expires_at", BigInteger),
)


@dataclass(frozen=True)
class LocalUser:
    """Who is calling the local listener. ``roles`` holds every role the user has (a local
    user has one; an OIDC user may have several); ``role`` is the first of them."""

    username: str
    role: str
    token_id: str
    roles: frozenset[str] = field(default=frozenset())

    def __post_init__(self) -> None:
        if not self.roles:
            object.__setattr__(self, "roles", frozenset({self.role}))


@dataclass(frozen=True)
class IssuedToken:
    user: LocalUser
    token: str
    expires_at: int | None = None


@dataclass(frozen=True)
class TokenHolder:
    """A user as the token table knows them: for ``cordon user list``."""

    username: str
    role: str
    live_tokens: int
    first_issued: datetime


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def check_user(username: str, role: str) -> None:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}; got {role!r}")
    if not username or len(username) > 128 or username != username.strip():
        raise ValueError("username must be 1-128 characters with no leading or trailing spaces")


class TokenStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def issue(
        self, username: str, role: str, now: datetime, *, expires_at: int | None = None
    ) -> IssuedToken:
        """A new token for ``username``; ``expires_at`` (epoch seconds) ``None``: until revoked."""
        check_user(username, role)
        token_id = secrets.token_hex(6)
        token = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
        with self._engine.begin() as conn:
            conn.execute(
                insert(local_tokens).values(
                    token_hash=_hash(token),
                    token_id=token_id,
                    username=username,
                    role=role,
                    created_at=now,
                    expires_at=expires_at,
                )
            )
        return IssuedToken(LocalUser(username, role, token_id), token, expires_at)

    def resolve(self, token: str, now: datetime | None = None) -> LocalUser | None:
        """The live user behind ``token``, or ``None`` (unknown, revoked or expired)."""
        if not token.startswith(TOKEN_PREFIX):
            return None
        t = local_tokens.c
        query = select(t.username, t.role, t.token_id).where(
            t.token_hash == _hash(token), t.revoked_at.is_(None)
        )
        if now is not None:
            query = query.where(or_(t.expires_at.is_(None), t.expires_at > int(now.timestamp())))
        with self._engine.connect() as conn:
            row = conn.execute(query).first()
        return LocalUser(row[0], row[1], row[2]) if row else None

    def revoke(self, username: str, now: datetime) -> int:
        with self._engine.begin() as conn:
            return conn.execute(
                update(local_tokens)
                .where(local_tokens.c.username == username, local_tokens.c.revoked_at.is_(None))
                .values(revoked_at=now)
            ).rowcount

    def holders(self, now: datetime) -> list[TokenHolder]:
        """Every user who was ever issued a token, with the number still live."""
        t = local_tokens.c
        live = (t.revoked_at.is_(None)) & (
            t.expires_at.is_(None) | (t.expires_at > int(now.timestamp()))
        )
        query = (
            select(t.username, t.role, func.sum(case((live, 1), else_=0)), func.min(t.created_at))
            .group_by(t.username, t.role)
            .order_by(t.username, t.role)
        )
        with self._engine.connect() as conn:
            return [
                TokenHolder(row[0], row[1], int(row[2] or 0), row[3]) for row in conn.execute(query)
            ]
