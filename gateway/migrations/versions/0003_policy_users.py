"""Policy versions, local accounts (argon2 passwords) and expiring login tokens, per-partner
quota counters, probing windows and temporary partner blocks.

Revision ID: 0003_policy
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_policy"
down_revision = "0001"
branch_labels = ("policy",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "policy_versions",
        sa.Column("number", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("version_hash", sa.String(64), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("author", sa.String(128), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("restores", sa.Integer, nullable=True),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_policy_versions_version_hash", "policy_versions", ["version_hash"])
    op.create_table(
        "local_accounts",
        sa.Column("username", sa.String(128), primary_key=True),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("password_hash", sa.String(256), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )
    with op.batch_alter_table("local_tokens") as batch:
        batch.add_column(sa.Column("expires_at", sa.BigInteger, nullable=True))
    op.create_table(
        "quota_counters",
        sa.Column("subject", sa.String(160), primary_key=True),
        sa.Column("scope", sa.String(160), primary_key=True),
        sa.Column("window_start", sa.String(20), primary_key=True),
        sa.Column("used", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_quota_counters_expires_at", "quota_counters", ["expires_at"])
    op.create_table(
        "probe_windows",
        sa.Column("partner", sa.String(64), primary_key=True),
        sa.Column("window_start", sa.String(20), primary_key=True),
        sa.Column("checked", sa.BigInteger, nullable=False),
        sa.Column("misses", sa.BigInteger, nullable=False),
        sa.Column("alerted", sa.Boolean, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_probe_windows_expires_at", "probe_windows", ["expires_at"])
    op.create_table(
        "partner_blocks",
        sa.Column("partner", sa.String(64), primary_key=True),
        sa.Column("blocked_until", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("partner_blocks")
    op.drop_index("ix_probe_windows_expires_at", table_name="probe_windows")
    op.drop_table("probe_windows")
    op.drop_index("ix_quota_counters_expires_at", table_name="quota_counters")
    op.drop_table("quota_counters")
    with op.batch_alter_table("local_tokens") as batch:
        batch.drop_column("expires_at")
    op.drop_table("local_accounts")
    op.drop_index("ix_policy_versions_version_hash", table_name="policy_versions")
    op.drop_table("policy_versions")
