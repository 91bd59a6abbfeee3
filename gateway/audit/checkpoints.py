"""The node's signed checkpoints of its own log, and the cosignatures partners sent back for
them (so that any partner can fetch what the others witnessed)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Engine,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError

from crypto.checkpoint import Checkpoint, Cosignature, SignedCheckpoint
from gateway.storage.metadata import metadata

_ID = BigInteger().with_variant(Integer, "sqlite")

audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("size", BigInteger, nullable=False, index=True),
    Column("root", LargeBinary(32), nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("text", Text, nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
)

audit_cosignatures = Table(
    "audit_cosignatures",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("checkpoint_id", _ID, ForeignKey("audit_checkpoints.id"), nullable=False),
    Column("witness", String(255), nullable=False),
    Column("key_id", String(8), nullable=False),
    Column("signature", LargeBinary(64), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("checkpoint_id", "witness"),
)


@dataclass(frozen=True)
class StoredCheckpoint:
    id: int
    signed: SignedCheckpoint

    @property
    def size(self) -> int:
        return self.signed.checkpoint.size


class CheckpointStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add(self, signed: SignedCheckpoint, issued_at: datetime) -> StoredCheckpoint:
        c = signed.checkpoint
        with self._engine.begin() as conn:
            result = conn.execute(
                insert(audit_checkpoints).values(
                    size=c.size,
                    root=c.root_hash,
                    timestamp=c.timestamp,
                    text=signed.to_text(),
                    issued_at=issued_at,
                )
            )
            return StoredCheckpoint(int(result.inserted_primary_key[0]), signed)  # type: ignore[index]

    def latest(self) -> StoredCheckpoint | None:
        """The checkpoint of the largest size (the most recent one at that size)."""
        return self._one(
            select(audit_checkpoints.c.id, audit_checkpoints.c.text)
            .order_by(audit_checkpoints.c.size.desc(), audit_checkpoints.c.id.desc())
            .limit(1)
        )

    def at_most(self, size: int) -> StoredCheckpoint | None:
        """The most recent checkpoint of the largest size not above ``size``."""
        return self._one(
            select(audit_checkpoints.c.id, audit_checkpoints.c.text)
            .where(audit_checkpoints.c.size <= size)
            .order_by(audit_checkpoints.c.size.desc(), audit_checkpoints.c.id.desc())
            .limit(1)
        )

    def find(self, checkpoint: Checkpoint) -> StoredCheckpoint | None:
        """The stored checkpoint with exactly this body (size, root and time)."""
        return self._one(
            select(audit_checkpoints.c.id, audit_checkpoints.c.text)
            .where(
                audit_checkpoints.c.size == checkpoint.size,
                audit_checkpoints.c.root == checkpoint.root_hash,
                audit_checkpoints.c.timestamp == checkpoint.timestamp,
            )
            .order_by(audit_checkpoints.c.id.desc())
            .limit(1)
        )

    def _one(self, query: object) -> StoredCheckpoint | None:
        with self._engine.connect() as conn:
            row = conn.execute(query).first()  # type: ignore[call-overload]
        if row is None:
            return None
        return StoredCheckpoint(int(row.id), SignedCheckpoint.from_text(row.text))

    def all_sizes(self) -> list[tuple[int, bytes]]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(audit_checkpoints.c.size, audit_checkpoints.c.root)
                .distinct()
                .order_by(audit_checkpoints.c.size)
            ).all()
        return [(int(r.size), bytes(r.root)) for r in rows]

    def add_cosignature(self, checkpoint_id: int, cosignature: Cosignature, at: datetime) -> bool:
        """Keep a partner's cosignature; False if that partner already cosigned it."""
        try:
            with self._engine.begin() as conn:
                conn.execute(
                    insert(audit_cosignatures).values(
                        checkpoint_id=checkpoint_id,
                        witness=cosignature.witness,
                        key_id=cosignature.key_id,
                        signature=cosignature.signature,
                        received_at=at,
                    )
                )
        except IntegrityError:
            return False
        return True

    def cosignatures(self, checkpoint_id: int) -> tuple[Cosignature, ...]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(
                    audit_cosignatures.c.witness,
                    audit_cosignatures.c.key_id,
                    audit_cosignatures.c.signature,
                )
                .where(audit_cosignatures.c.checkpoint_id == checkpoint_id)
                .order_by(audit_cosignatures.c.witness)
            ).all()
        return tuple(Cosignature(r.witness, r.key_id, bytes(r.signature)) for r in rows)

    def latest_cosigned(self) -> StoredCheckpoint | None:
        """The largest checkpoint any partner cosigned, with every cosignature it has."""
        with self._engine.connect() as conn:
            row = conn.execute(
                select(audit_checkpoints.c.id, audit_checkpoints.c.text)
                .join(
                    audit_cosignatures,
                    audit_cosignatures.c.checkpoint_id == audit_checkpoints.c.id,
                )
                .order_by(audit_checkpoints.c.size.desc(), audit_checkpoints.c.id.desc())
                .limit(1)
            ).first()
        if row is None:
            return None
        signed = SignedCheckpoint.from_text(row.text)
        return StoredCheckpoint(int(row.id), _with(signed, self.cosignatures(int(row.id))))


def _with(signed: SignedCheckpoint, cosignatures: tuple[Cosignature, ...]) -> SignedCheckpoint:
    return SignedCheckpoint(signed.checkpoint, signed.signature, signed.key_id, cosignatures)
