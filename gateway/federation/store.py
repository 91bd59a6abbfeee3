"""The peer token replay cache: every accepted jti is remembered until it expires. The
primary key makes "first use wins" atomic across processes sharing one database."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Engine, Index, String, Table, delete, insert
from sqlalchemy.exc import IntegrityError

from gateway.storage.metadata import metadata

peer_token_uses = Table(
    "peer_token_uses",
    metadata,
    Column("jti", String(128), primary_key=True),
    Column("issuer", String(64), nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Index("ix_peer_token_uses_expires_at", "expires_at"),
)


class ReplayCache:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def first_use(self, jti: str, issuer: str, expires_at: int) -> bool:
        """Record ``jti``; False when it was seen before (a replay)."""
        key = f"{issuer}:{jti}"
        try:
            with self._engine.begin() as conn:
                conn.execute(
                    insert(peer_token_uses).values(jti=key, issuer=issuer, expires_at=expires_at)
                )
        except IntegrityError:
            return False
        return True

    def forget_expired(self, now: int, leeway: int = 60) -> int:
        with self._engine.begin() as conn:
            return conn.execute(
                delete(peer_token_uses).where(peer_token_uses.c.expires_at < now - leeway)
            ).rowcount
