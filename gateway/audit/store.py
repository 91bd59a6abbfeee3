"""SQLAlchemy access to the log itself: the entries (their canonical documents plus columns
that index them), the leaf hashes (kept when old entries are pruned), and the single-row
tree state (size, frontier, root) that every append updates in the same transaction.

Appends serialise on the tree row: ``SELECT ... FOR UPDATE`` on PostgreSQL, the
``BEGIN IMMEDIATE`` write lock on SQLite. So processes sharing one database extend one tree,
and the sequence numbers are dense: entry ``seq`` is leaf ``seq - 1``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Connection,
    DateTime,
    Engine,
    Float,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    delete,
    func,
    insert,
    select,
    update,
)

from crypto.merkle import MerkleFrontier, leaf_hash
from gateway.audit.entry import assemble, entry_parts, utc
from gateway.audit.schemas import AuditEvent
from gateway.storage.metadata import metadata

TREE_ROW = 1
_SEQ = BigInteger().with_variant(Integer, "sqlite")

audit_entries = Table(
    "audit_entries",
    metadata,
    Column("seq", _SEQ, primary_key=True, autoincrement=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, index=True),
    Column("channel", String(16), nullable=False),
    Column("requester_agency", String(64), nullable=False, index=True),
    Column("requester_user", String(128), nullable=False),
    Column("responder_agency", String(64), index=True),
    Column("purpose", String(128)),
    Column("case_reference", String(256), index=True),
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
    # The canonical document: the leaf's exact bytes (UTF-8 JSON). Everything above indexes it.
    Column("leaf", Text),
)

audit_leaves = Table(
    "audit_leaves",
    metadata,
    Column("idx", _SEQ, primary_key=True, autoincrement=False),
    Column("leaf_hash", LargeBinary(32), nullable=False),
)

audit_tree = Table(
    "audit_tree",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("size", BigInteger, nullable=False),
    Column("root", LargeBinary(32), nullable=False),
    Column("frontier", LargeBinary, nullable=False),
    Column("pruned_through", BigInteger, nullable=False),
)


@dataclass(frozen=True)
class TreeHead:
    """The log's state: ``size`` leaves with ``root``; entries up to ``pruned_through``
    were removed by retention (their leaf hashes remain)."""

    size: int
    root: bytes
    pruned_through: int


def _fit(text: str | None, length: int) -> str | None:
    return None if text is None else text[:length]


def index_row(document: dict[str, Any], event: AuditEvent) -> dict[str, Any]:
    """The table columns of one entry, but its seq and document: search columns cut to
    their widths (the document keeps the full values)."""
    rho, latency = event.rho_charged, event.latency_ms
    return {
        "recorded_at": utc(event.recorded_at),
        "channel": _fit(document["channel"], 16),
        "requester_agency": _fit(document["requester_agency"], 64),
        "requester_user": _fit(document["requester_user"], 128),
        "responder_agency": _fit(document["responder_agency"], 64),
        "purpose": _fit(document["purpose"], 128),
        "case_reference": _fit(document["case_reference"], 256),
        "query_type": _fit(document["query_type"], 32),
        "identifier_types": document["identifier_types"],
        "identifier_count": min(int(document["identifier_count"]), 2**31 - 1),
        "decision": _fit(document["decision"], 16),
        "rule_id": _fit(document["rule_id"], 128),
        "policy_version": _fit(document["policy_version"], 64),
        "rho_charged": None if rho is None else float(rho),
        "latency_ms": None if latency is None else float(latency),
        "outcome": document["outcome"],
        "signatures": document["signatures"],
    }


@dataclass(frozen=True)
class PreparedEntry:
    """An event turned into its row and leaf bytes around the not-yet-known seq."""

    row: dict[str, Any]
    head: bytes
    tail: bytes


def prepare(event: AuditEvent) -> PreparedEntry:
    document, head, tail = entry_parts(event)
    return PreparedEntry(index_row(document, event), head, tail)


def lock_tree(conn: Connection) -> tuple[MerkleFrontier, int]:
    """Read the tree row under the append lock (FOR UPDATE; SQLite holds the write lock)."""
    row = conn.execute(
        select(audit_tree.c.frontier, audit_tree.c.pruned_through)
        .where(audit_tree.c.id == TREE_ROW)
        .with_for_update()
    ).one()
    return MerkleFrontier.from_bytes(row.frontier), int(row.pruned_through)


def save_tree(
    conn: Connection, frontier: MerkleFrontier, pruned_through: int | None = None
) -> None:
    values: dict[str, Any] = {
        "size": frontier.size,
        "root": frontier.root(),
        "frontier": frontier.to_bytes(),
    }
    if pruned_through is not None:
        values["pruned_through"] = pruned_through
    conn.execute(update(audit_tree).where(audit_tree.c.id == TREE_ROW).values(**values))


class AuditStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @property
    def engine(self) -> Engine:
        return self._engine

    def append_batch(self, entries: Sequence[AuditEvent | PreparedEntry]) -> list[int]:
        """Append ``entries`` in one transaction; returns their sequence numbers."""
        prepared = [e if isinstance(e, PreparedEntry) else prepare(e) for e in entries]
        with self._engine.begin() as conn:
            frontier, _ = lock_tree(conn)
            rows, leaves, seqs = [], [], []
            for entry in prepared:
                seq = frontier.size + 1
                leaf = assemble(entry.head, seq, entry.tail)
                digest = leaf_hash(leaf)
                frontier.append(digest)
                rows.append({**entry.row, "seq": seq, "leaf": leaf.decode("utf-8")})
                leaves.append({"idx": seq - 1, "leaf_hash": digest})
                seqs.append(seq)
            conn.execute(insert(audit_entries), rows)
            conn.execute(insert(audit_leaves), leaves)
            save_tree(conn, frontier)
        return seqs

    def head(self) -> TreeHead:
        with self._engine.connect() as conn:
            row = conn.execute(
                select(audit_tree.c.size, audit_tree.c.root, audit_tree.c.pruned_through).where(
                    audit_tree.c.id == TREE_ROW
                )
            ).one()
        return TreeHead(int(row.size), bytes(row.root), int(row.pruned_through))

    def leaf_hashes(self, start: int, end: int) -> list[bytes]:
        """Leaf hashes of ``D[start:end]`` (leaf indexes, not sequence numbers)."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(audit_leaves.c.leaf_hash)
                .where(audit_leaves.c.idx >= start, audit_leaves.c.idx < end)
                .order_by(audit_leaves.c.idx)
            )
            return [bytes(r[0]) for r in rows]

    def iter_leaf_hashes(self, start: int, end: int, chunk: int = 4096) -> Iterator[list[bytes]]:
        for low in range(start, end, chunk):
            yield self.leaf_hashes(low, min(end, low + chunk))

    def iter_leaves(self, first_seq: int, last_seq: int, chunk: int = 2000) -> Iterator[bytes]:
        """The stored documents of entries ``first_seq..last_seq``, in order (pruned or
        missing ones are simply absent: a verifier reports them)."""
        low = first_seq
        while low <= last_seq:
            high = min(last_seq, low + chunk - 1)
            with self._engine.connect() as conn:
                rows = conn.execute(
                    select(audit_entries.c.leaf)
                    .where(audit_entries.c.seq >= low, audit_entries.c.seq <= high)
                    .order_by(audit_entries.c.seq)
                ).all()
            for row in rows:
                yield (row[0] or "").encode("utf-8")
            low = high + 1

    def leaf_of(self, seq: int) -> bytes | None:
        with self._engine.connect() as conn:
            text = conn.execute(
                select(audit_entries.c.leaf).where(audit_entries.c.seq == seq)
            ).scalar_one_or_none()
        return None if text is None else str(text).encode("utf-8")

    def first_seq_since(self, since: datetime) -> int | None:
        with self._engine.connect() as conn:
            value = conn.execute(
                select(func.min(audit_entries.c.seq)).where(
                    audit_entries.c.recorded_at >= utc(since)
                )
            ).scalar()
        return None if value is None else int(value)

    def prune(self, cutoff: datetime) -> tuple[int, int]:
        """Remove the oldest entries recorded before ``cutoff``, as a prefix of the log (an
        older entry behind a newer one stays); returns (pruned through seq, entries removed).
        Leaf hashes and the tree are untouched, so proofs and checkpoints still hold."""
        with self._engine.begin() as conn:
            frontier, pruned_through = lock_tree(conn)
            newer = conn.execute(
                select(func.min(audit_entries.c.seq)).where(
                    audit_entries.c.recorded_at >= utc(cutoff)
                )
            ).scalar()
            through = frontier.size if newer is None else int(newer) - 1
            if through <= pruned_through:
                return pruned_through, 0
            removed = conn.execute(
                delete(audit_entries).where(audit_entries.c.seq <= through)
            ).rowcount
            save_tree(conn, frontier, pruned_through=through)
        return through, int(removed)

    def recent(self, limit: int = 100) -> Sequence[dict[str, Any]]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(audit_entries).order_by(audit_entries.c.seq.desc()).limit(limit)
            ).mappings()
            return [dict(row) for row in rows]
