"""Aggregates: the fingerprint of the declaration each file source was staged under. Staged
rows are already bounded and clamped for that declaration, so a question is refused until
``cordon aggregate refresh`` restages a dataset whose declaration changed since. Tables
staged before this revision have no fingerprint, so they are refused until restaged too (they
hold unbounded rows).

Revision ID: 0005_aggregate_staging
Revises: 0004_aggregates
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_aggregate_staging"
down_revision = "0004_aggregates"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "aggregate_staging_state",
        sa.Column("dataset", sa.String(128), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("staged_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("aggregate_staging_state")
