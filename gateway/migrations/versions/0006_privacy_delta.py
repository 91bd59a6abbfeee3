"""Aggregates: delta beside rho in the privacy ledger, for group keys chosen by a DP threshold
(whole femto-delta, 10^-15; existing rows spent none), and claims that let identical questions
racing each other be charged once.

Revision ID: 0006_privacy_delta
Revises: 0005_aggregate_staging
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_privacy_delta"
down_revision = "0005_aggregate_staging"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "aggregate_claims",
        sa.Column("partner", sa.String(64), primary_key=True),
        sa.Column("dataset", sa.String(128), primary_key=True),
        sa.Column("generation", sa.Integer, primary_key=True),
        sa.Column("question", sa.String(64), primary_key=True),
        sa.Column("charge_id", sa.Integer, nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("privacy_budgets") as batch:
        batch.add_column(
            sa.Column("spent_delta_femto", sa.BigInteger, nullable=False, server_default="0")
        )
    with op.batch_alter_table("privacy_charges") as batch:
        batch.add_column(
            sa.Column("delta_femto", sa.BigInteger, nullable=False, server_default="0")
        )


def downgrade() -> None:
    op.drop_table("aggregate_claims")
    with op.batch_alter_table("privacy_charges") as batch:
        batch.drop_column("delta_femto")
    with op.batch_alter_table("privacy_budgets") as batch:
        batch.drop_column("spent_delta_femto")
