"""The privacy ledger: zCDP rho spent per (partner, dataset, period) and across all partners
per (dataset, period), in the node database, counted in whole nano-rho (``rho.py``) so that
k charges of a k-th of the budget fit exactly, whatever the floats.

A charge is taken *before* a noisy value is computed, in one transaction: the budget rows are
created if missing (``INSERT ... ON CONFLICT DO NOTHING``), then each is debited with one
conditional ``UPDATE ... SET spent_nano = spent_nano + :n WHERE spent_nano + :n <= :limit``;
if either matches no row the transaction rolls back and nothing is charged. The charge is
recorded as ``reserved`` and marked ``released`` once the answer leaves. Nothing is ever
refunded: a crash or failure after the reservation keeps the charge.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    Engine,
    Integer,
    String,
    Table,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from gateway.aggregates.rho import as_rho, nano_floor
from gateway.errors import BadRequest, BudgetExhausted
from gateway.storage.metadata import metadata

GLOBAL = "*"

privacy_budgets = Table(
    "privacy_budgets",
    metadata,
    Column("partner", String(64), primary_key=True),
    Column("dataset", String(128), primary_key=True),
    Column("period", String(16), primary_key=True),
    Column("spent_nano", BigInteger, nullable=False),
)

privacy_charges = Table(
    "privacy_charges",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("partner", String(64), nullable=False),
    Column("dataset", String(128), nullable=False),
    Column("period", String(16), nullable=False),
    Column("global_period", String(16), nullable=True),
    Column("rho_nano", BigInteger, nullable=False),
    Column("state", String(16), nullable=False),
    Column("reference", String(128), nullable=False),
    Column("reserved_at", DateTime(timezone=True), nullable=False),
    Column("released_at", DateTime(timezone=True), nullable=True),
)


def period_key(period: str, when: datetime) -> str:
    """The budget period ``when`` falls in: ``2024-06-30``, ``2024-W26`` or ``2024-06``."""
    if period == "day":
        return when.strftime("%Y-%m-%d")
    if period == "week":
        year, week, _ = when.isocalendar()
        return f"{year}-W{week:02d}"
    if period == "month":
        return when.strftime("%Y-%m")
    raise ValueError(f"unknown budget period {period!r}")


@dataclass(frozen=True)
class Budget:
    """What to charge against, in nano-rho: the partner's limit per ``period`` and, when the
    policy sets one, the dataset's global cap per ``global_period``."""

    partner: str
    dataset: str
    per_query_nano: int
    limit_nano: int
    period: str
    global_limit_nano: int | None = None
    global_period: str | None = None

    @classmethod
    def in_rho(
        cls,
        partner: str,
        dataset: str,
        rho_per_query: float,
        limit: float,
        period: str,
        global_limit: float | None = None,
        global_period: str | None = None,
    ) -> Budget:
        """A budget from the policy's figures in rho (each rounded down to nano-rho)."""
        return cls(
            partner,
            dataset,
            nano_floor(rho_per_query),
            nano_floor(limit),
            period,
            None if global_limit is None else nano_floor(global_limit),
            global_period,
        )


@dataclass(frozen=True)
class Charge:
    id: int
    rho_nano: int
    budget_left_nano: int

    @property
    def rho(self) -> float:
        return as_rho(self.rho_nano)

    @property
    def budget_left(self) -> float:
        return as_rho(self.budget_left_nano)


class PrivacyLedger:
    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self._engine = engine
        self._clock = clock

    def reserve(self, budget: Budget, rho_nano: int, reference: str) -> Charge:
        """Debit ``rho_nano`` from the partner's and the global budget, atomically, or raise
        ``BudgetExhausted`` (or ``BadRequest`` for an invalid amount) having charged nothing."""
        if isinstance(rho_nano, bool) or not isinstance(rho_nano, int):
            raise TypeError("the ledger charges whole nano-rho")
        if not 1 <= rho_nano <= budget.per_query_nano:
            raise BadRequest(
                f"rho {as_rho(rho_nano)!r} must be more than 0 and within the per-query cap "
                f"{as_rho(budget.per_query_nano)!r}"
            )
        rho = rho_nano
        now = self._clock()
        period = period_key(budget.period, now)
        rows = [(budget.partner, period, budget.limit_nano)]
        global_period = None
        if budget.global_limit_nano is not None and budget.global_period is not None:
            global_period = period_key(budget.global_period, now)
            rows.append((GLOBAL, global_period, budget.global_limit_nano))
        with self._engine.begin() as connection:
            for partner, key, limit in rows:
                self._ensure_row(connection, partner, budget.dataset, key)
                debited = connection.execute(
                    update(privacy_budgets)
                    .where(
                        privacy_budgets.c.partner == partner,
                        privacy_budgets.c.dataset == budget.dataset,
                        privacy_budgets.c.period == key,
                        privacy_budgets.c.spent_nano + rho <= limit,
                    )
                    .values(spent_nano=privacy_budgets.c.spent_nano + rho)
                ).rowcount
                if debited != 1:
                    # Leaving the block by an exception rolls back any debit already taken.
                    whose = "the global cap" if partner == GLOBAL else "the partner's budget"
                    raise BudgetExhausted(
                        f"rho {as_rho(rho)} does not fit in {whose} for {budget.dataset!r} "
                        "this period"
                    )
            charge_id = connection.execute(
                privacy_charges.insert().values(
                    partner=budget.partner,
                    dataset=budget.dataset,
                    period=period,
                    global_period=global_period,
                    rho_nano=rho,
                    state="reserved",
                    reference=reference,
                    reserved_at=now,
                )
            ).inserted_primary_key
            left = min(
                limit - self._spent(connection, partner, budget.dataset, key)
                for partner, key, limit in rows
            )
        return Charge(int(charge_id[0]) if charge_id else 0, rho, max(0, left))

    def release(self, charge: Charge, connection: Connection | None = None) -> None:
        """Mark a reserved charge released: its answer has left. The rho stays spent. With
        ``connection``, within the caller's transaction (the answer is kept in the same one)."""
        statement = (
            update(privacy_charges)
            .where(privacy_charges.c.id == charge.id)
            .values(state="released", released_at=self._clock())
        )
        if connection is not None:
            connection.execute(statement)
            return
        with self._engine.begin() as own:
            own.execute(statement)

    def budget_left(self, budget: Budget) -> int:
        """Nano-rho the partner may still spend on the dataset this period."""
        now = self._clock()
        with self._engine.connect() as connection:
            left = budget.limit_nano - self._spent(
                connection, budget.partner, budget.dataset, period_key(budget.period, now)
            )
            if budget.global_limit_nano is not None and budget.global_period is not None:
                key = period_key(budget.global_period, now)
                spent = self._spent(connection, GLOBAL, budget.dataset, key)
                left = min(left, budget.global_limit_nano - spent)
        return max(0, left)

    def spent(self, partner: str, dataset: str, period: str) -> int:
        """Nano-rho spent by ``partner`` (``GLOBAL`` for everyone) in ``period``."""
        with self._engine.connect() as connection:
            return self._spent(connection, partner, dataset, period)

    @staticmethod
    def _spent(connection: Connection, partner: str, dataset: str, period: str) -> int:
        value = connection.execute(
            select(privacy_budgets.c.spent_nano).where(
                privacy_budgets.c.partner == partner,
                privacy_budgets.c.dataset == dataset,
                privacy_budgets.c.period == period,
            )
        ).scalar()
        return int(value or 0)

    @staticmethod
    def _ensure_row(connection: Connection, partner: str, dataset: str, period: str) -> None:
        values = {"partner": partner, "dataset": dataset, "period": period, "spent_nano": 0}
        if connection.dialect.name == "postgresql":
            connection.execute(
                postgresql.insert(privacy_budgets).values(values).on_conflict_do_nothing()
            )
        else:
            connection.execute(
                sqlite.insert(privacy_budgets).values(values).on_conflict_do_nothing()
            )
