"""Local API tokens, stored only as SHA-256 hashes (the tokens are 256-bit random secrets,
so a fast hash is enough; passwords, when they come, use argon2)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    LargeBinary,
    String,
    Table,
    insert,
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
)


@dataclass(frozen=True)
class LocalUser:
    username: str
    role: str
    token_id: str


@dataclass(frozen=True)
class IssuedToken:
    user: LocalUser
    token: str


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


class TokenStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def issue(self, username: str, role: str, now: datetime) -> IssuedToken:
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}; got {role!r}")
        if not username or len(username) > 128:
            raise ValueError("username must be 1-128 characters")
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
                )
            )
        return IssuedToken(LocalUser(username, role, token_id), token)

    def resolve(self, token: str) -> LocalUser | None:
        if not token.startswith(TOKEN_PREFIX):
            return None
        with self._engine.connect() as conn:
            row = conn.execute(
                select(local_tokens.c.username, local_tokens.c.role, local_tokens.c.token_id).where(
                    local_tokens.c.token_hash == _hash(token), local_tokens.c.revoked_at.is_(None)
                )
            ).first()
        return LocalUser(row[0], row[1], row[2]) if row else None

    def revoke(self, username: str, now: datetime) -> int:
        with self._engine.begin() as conn:
            return conn.execute(
                update(local_tokens)
                .where(local_tokens.c.username == username, local_tokens.c.revoked_at.is_(None))
                .values(revoked_at=now)
            ).rowcount
