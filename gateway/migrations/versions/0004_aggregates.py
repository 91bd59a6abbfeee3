"""Aggregates: the privacy ledger (budgets and charges, in whole nano-rho), the released-answer
cache and the aggregate datasets' data generations. (Staged copies of file sources are tables
``aggregate_staged_<dataset>`` created by ``cordon aggregate refresh``, not by migrations.)

Revision ID: 0004_aggregates
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_aggregates"
down_revision = "0001"
branch_labels = ("aggregates",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "privacy_budgets",
        sa.Column("partner", sa.String(64), primary_key=True),
        sa.Column("dataset", sa.String(128), primary_key=True),
        sa.Column("period", sa.String(16), primary_key=True),
        sa.Column("spent_nano", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "privacy_charges",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("partner", sa.String(64), nullable=False),
        sa.Column("dataset", sa.String(128), nullable=False),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("global_period", sa.String(16), nullable=True),
        sa.Column("rho_nano", sa.BigInteger, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reference", sa.String(128), nullable=False),
        sa.Column("reserved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index(
        "ix_privacy_charges_partner_dataset_period",
        "privacy_charges",
        ["partner", "dataset", "period"],
    )
    op.create_table(
        "aggregate_generations",
        sa.Column("dataset", sa.String(128), primary_key=True),
        sa.Column("generation", sa.Integer, nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "aggregate_answers",
        sa.Column("partner", sa.String(64), primary_key=True),
        sa.Column("dataset", sa.String(128), primary_key=True),
        sa.Column("generation", sa.Integer, primary_key=True),
        sa.Column("question", sa.String(64), primary_key=True),
        sa.Column("answer", sa.JSON, nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("aggregate_answers")
    op.drop_table("aggregate_generations")
    op.drop_index("ix_privacy_charges_partner_dataset_period", table_name="privacy_charges")
    op.drop_table("privacy_charges")
    op.drop_table("privacy_budgets")
