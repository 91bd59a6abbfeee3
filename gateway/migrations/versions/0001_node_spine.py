"""Node spine: match index, indexed-record fingerprints, hit references, peer token replay
cache, local API tokens and the audit table.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "match_tokens",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("token", sa.LargeBinary(32), nullable=False),
        sa.Column("epoch", sa.Integer, nullable=False),
        sa.Column("id_type", sa.String(32), nullable=False),
        sa.Column("dataset", sa.String(128), nullable=False),
        sa.Column("record_ref", sa.String(256), nullable=False),
        sa.Column("subject_category", sa.String(32), nullable=False),
        sa.Column("handling_code", sa.String(8), nullable=False),
        sa.Column("recorded_on", sa.Date, nullable=True),
    )
    op.create_index("ix_match_tokens_token_epoch", "match_tokens", ["token", "epoch"])
    op.create_index("ix_match_tokens_dataset_record_ref", "match_tokens", ["dataset", "record_ref"])
    op.create_table(
        "indexed_records",
        sa.Column("dataset", sa.String(128), primary_key=True),
        sa.Column("record_ref", sa.String(256), primary_key=True),
        sa.Column("fingerprint", sa.LargeBinary(32), nullable=False),
        sa.Column("generation", sa.Integer, nullable=False),
    )
    op.create_table(
        "index_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("dataset", sa.String(128), nullable=False),
        sa.Column("generation", sa.Integer, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("summary", sa.JSON, nullable=True),
    )
    op.create_table(
        "hit_references",
        sa.Column("reference", sa.String(64), primary_key=True),
        sa.Column("dataset", sa.String(128), primary_key=True),
        sa.Column("record_ref", sa.String(256), primary_key=True),
        sa.Column("partner", sa.String(64), nullable=False),
        sa.Column("id_type", sa.String(32), nullable=False),
        sa.Column("purpose", sa.String(128), nullable=False),
        sa.Column("case_reference", sa.String(256), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "peer_token_uses",
        sa.Column("jti", sa.String(128), primary_key=True),
        sa.Column("issuer", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_peer_token_uses_expires_at", "peer_token_uses", ["expires_at"])
    op.create_table(
        "local_tokens",
        sa.Column("token_hash", sa.LargeBinary(32), primary_key=True),
        sa.Column("token_id", sa.String(32), nullable=False, unique=True),
        sa.Column("username", sa.String(128), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "audit_entries",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("requester_agency", sa.String(64), nullable=False),
        sa.Column("requester_user", sa.String(128), nullable=False),
        sa.Column("responder_agency", sa.String(64), nullable=True),
        sa.Column("purpose", sa.String(128), nullable=True),
        sa.Column("case_reference", sa.String(256), nullable=True),
        sa.Column("query_type", sa.String(32), nullable=False),
        sa.Column("identifier_types", sa.JSON, nullable=False),
        sa.Column("identifier_count", sa.Integer, nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("rule_id", sa.String(128), nullable=True),
        sa.Column("policy_version", sa.String(64), nullable=True),
        sa.Column("rho_charged", sa.Float, nullable=True),
        sa.Column("latency_ms", sa.Float, nullable=True),
        sa.Column("outcome", sa.JSON, nullable=False),
        sa.Column("signatures", sa.JSON, nullable=False),
    )
    op.create_index("ix_audit_entries_recorded_at", "audit_entries", ["recorded_at"])


def downgrade() -> None:
    op.drop_table("audit_entries")
    op.drop_table("local_tokens")
    op.drop_index("ix_peer_token_uses_expires_at", "peer_token_uses")
    op.drop_table("peer_token_uses")
    op.drop_table("hit_references")
    op.drop_table("index_runs")
    op.drop_table("indexed_records")
    op.drop_index("ix_match_tokens_dataset_record_ref", "match_tokens")
    op.drop_index("ix_match_tokens_token_epoch", "match_tokens")
    op.drop_table("match_tokens")
