"""Audit log as a Merkle tree: each entry's canonical document, leaf hashes, the tree state,
signed checkpoints and the cosignatures partners return, and what this node witnessed of its
partners' logs (observations and alerts).

Entries written before this revision are renumbered densely (PostgreSQL sequences leave gaps)
and become the first leaves, in their original order.

Revision ID: 0002_audit
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from crypto.merkle import MerkleFrontier

revision = "0002_audit"
down_revision = "0001"
branch_labels = ("audit",)
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.add_column("audit_entries", sa.Column("leaf", sa.Text, nullable=True))
    op.create_index("ix_audit_entries_requester_agency", "audit_entries", ["requester_agency"])
    op.create_index("ix_audit_entries_responder_agency", "audit_entries", ["responder_agency"])
    op.create_index("ix_audit_entries_case_reference", "audit_entries", ["case_reference"])
    op.create_table(
        "audit_leaves",
        sa.Column("idx", _ID, primary_key=True, autoincrement=False),
        sa.Column("leaf_hash", sa.LargeBinary(32), nullable=False),
    )
    tree = op.create_table(
        "audit_tree",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("root", sa.LargeBinary(32), nullable=False),
        sa.Column("frontier", sa.LargeBinary, nullable=False),
        sa.Column("pruned_through", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("root", sa.LargeBinary(32), nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_audit_checkpoints_size", "audit_checkpoints", ["size"])
    op.create_table(
        "audit_cosignatures",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("checkpoint_id", _ID, sa.ForeignKey("audit_checkpoints.id"), nullable=False),
        sa.Column("witness", sa.String(255), nullable=False),
        sa.Column("key_id", sa.String(8), nullable=False),
        sa.Column("signature", sa.LargeBinary(64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("checkpoint_id", "witness"),
    )
    op.create_table(
        "audit_witnessed",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("partner", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("root", sa.LargeBinary(32), nullable=False),
        sa.Column("checkpoint", sa.Text, nullable=False),
        sa.Column("cosignature", sa.Text, nullable=True),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text, nullable=True),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_audit_witnessed_partner_size", "audit_witnessed", ["partner", "size"])
    op.create_table(
        "audit_alerts",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("partner", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("evidence", sa.JSON, nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False, unique=True),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
    )
    frontier = _adopt_existing_entries()
    op.bulk_insert(
        tree,
        [
            {
                "id": 1,
                "size": frontier.size,
                "root": frontier.root(),
                "frontier": frontier.to_bytes(),
                "pruned_through": 0,
            }
        ],
    )


def _adopt_existing_entries() -> MerkleFrontier:
    """Make the entries of the spine's plain audit table the first leaves of the tree."""
    from gateway.audit.entry import entry_leaf
    from gateway.audit.schemas import AuditEvent

    conn = op.get_bind()
    entries = sa.table(
        "audit_entries",
        sa.column("seq", sa.BigInteger),
        sa.column("recorded_at", sa.DateTime(timezone=True)),
        *(sa.column(name, sa.String) for name in _TEXT_FIELDS),
        sa.column("identifier_types", sa.JSON),
        sa.column("rho_charged", sa.Float),
        sa.column("latency_ms", sa.Float),
        sa.column("outcome", sa.JSON),
        sa.column("signatures", sa.JSON),
        sa.column("leaf", sa.Text),
    )
    leaves = sa.table("audit_leaves", sa.column("idx"), sa.column("leaf_hash"))
    frontier = MerkleFrontier()
    rows = conn.execute(sa.select(entries).order_by(entries.c.seq)).mappings().all()
    for row in rows:
        seq = frontier.size + 1
        if row["seq"] != seq:
            # Ascending renumbering only ever moves an entry down into a free number.
            conn.execute(sa.update(entries).where(entries.c.seq == row["seq"]).values(seq=seq))
        event = AuditEvent(**{k: row[k] for k in _EVENT_FIELDS})
        _document, leaf, digest = entry_leaf(seq, event)
        conn.execute(
            sa.update(entries).where(entries.c.seq == seq).values(leaf=leaf.decode("utf-8"))
        )
        conn.execute(sa.insert(leaves).values(idx=seq - 1, leaf_hash=digest))
        frontier.append(digest)
    return frontier


_EVENT_FIELDS = (
    "channel",
    "requester_agency",
    "requester_user",
    "query_type",
    "decision",
    "recorded_at",
    "responder_agency",
    "purpose",
    "case_reference",
    "identifier_types",
    "rule_id",
    "policy_version",
    "rho_charged",
    "latency_ms",
    "outcome",
    "signatures",
)
_TEXT_FIELDS = (
    "channel",
    "requester_agency",
    "requester_user",
    "query_type",
    "decision",
    "responder_agency",
    "purpose",
    "case_reference",
    "rule_id",
    "policy_version",
)


def downgrade() -> None:
    for table in (
        "audit_alerts",
        "audit_witnessed",
        "audit_cosignatures",
        "audit_checkpoints",
        "audit_tree",
        "audit_leaves",
    ):
        op.drop_table(table)
    op.drop_index("ix_audit_entries_case_reference", "audit_entries")
    op.drop_index("ix_audit_entries_responder_agency", "audit_entries")
    op.drop_index("ix_audit_entries_requester_agency", "audit_entries")
    with op.batch_alter_table("audit_entries") as batch:
        batch.drop_column("leaf")
