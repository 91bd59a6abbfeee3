"""The privacy ledger: zCDP rho spent per (partner, dataset, period) and across all partners
per (dataset, period), in the node database, counted in whole nano-rho (``rho.py``) so that
k charges of a k-th of the budget fit exactly, whatever the floats.

A charge is taken *before* a noisy value is computed, in one transaction: the budget rows are
created if missing (``INSERT ... ON CONFLICT DO NOTHING``), then each is debited with one
conditional ``UPDATE ... SET spent_nano = spent_nano + :n WHERE spent_nano + :n <= :limit``;
if either matches no row the transaction rolls back and nothing is charged. The charge is
recorded as ``reserved`` and marked ``released`` once the answer leaves. Nothing is ever
refunded: a crash or failure after the reservation keeps the charge.

A question whose group keys are chosen by a DP threshold also spends delta (approximate zCDP:
rho and delta each add up under composition). Delta is kept beside rho in the same rows, in
whole femto-delta (10^-15), and debited by the same conditional ``UPDATE``.
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

from gateway.aggregates.rho import as_delta, as_rho, femto_floor, nano_floor
from gateway.errors import BadRequest, BudgetExhausted
from gateway.storage.metadata import metadata
from gateway.storage.statements import insert_ignore

GLOBAL = "*"

privacy_budgets = Table(
    "privacy_budgets",
    metadata,
    Column("partner", String(64), primary_key=True),
    Column("dataset", String(128), primary_key=True),
    Column("period", String(16), primary_key=True),
    Column("spent_nano", BigInteger, nullable=False),
    Column("spent_delta_femto", BigInteger, nullable=False, server_default="0"),
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
    Column("delta_femto", BigInteger, nullable=False, server_default="0"),
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
    policy sets one, the dataset's global cap per ``global_period``; likewise for delta in
    femto-delta (0 when the policy grants no key selection; no global delta cap when
    ``global_delta_limit_femto`` is ``None``)."""

    partner: str
    dataset: str
    per_query_nano: int
    limit_nano: int
    period: str
    global_limit_nano: int | None = None
    global_period: str | None = None
    delta_per_query_femto: int = 0
    delta_limit_femto: int = 0
    global_delta_limit_femto: int | None = None

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
        delta_per_query: float | None = None,
        delta_limit: float | None = None,
        global_delta_limit: float | None = None,
    ) -> Budget:
        """A budget from the policy's figures in rho and delta (each rounded down)."""
        return cls(
            partner,
            dataset,
            nano_floor(rho_per_query),
            nano_floor(limit),
            period,
            None if global_limit is None else nano_floor(global_limit),
            global_period,
            0 if delta_per_query is None else femto_floor(delta_per_query),
            0 if delta_limit is None else femto_floor(delta_limit),
            None if global_delta_limit is None else femto_floor(global_delta_limit),
        )


@dataclass(frozen=True)
class Charge:
    id: int
    rho_nano: int
    budget_left_nano: int
    delta_femto: int = 0
    delta_left_femto: int = 0

    @property
    def delta(self) -> float:
        return as_delta(self.delta_femto)

    @property
    def delta_left(self) -> float:
        return as_delta(self.delta_left_femto)

    @property
    def rho(self) -> float:
        return as_rho(self.rho_nano)

    @property
    def budget_left(self) -> float:
        return as_rho(self.budget_left_nano)


# (partner or GLOBAL, period key, nano-rho limit, femto-delta limit or None for no cap)
_BudgetRow = tuple[str, str, int, int | None]


def _budget_rows(budget: Budget, now: datetime) -> list[_BudgetRow]:
    """The budget rows a charge debits: the partner's, then the global cap's when set."""
    rows: list[_BudgetRow] = [
        (
            budget.partner,
            period_key(budget.period, now),
            budget.limit_nano,
            budget.delta_limit_femto,
        )
    ]
    if budget.global_limit_nano is not None and budget.global_period is not None:
        rows.append(
            (
                GLOBAL,
                period_key(budget.global_period, now),
                budget.global_limit_nano,
                budget.global_delta_limit_femto,
            )
        )
    return rows


class PrivacyLedger:
    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self._engine = engine
        self._clock = clock

    def reserve(
        self,
        budget: Budget,
        rho_nano: int,
        reference: str,
        delta_femto: int = 0,
        connection: Connection | None = None,
    ) -> Charge:
        """Debit ``rho_nano`` (and ``delta_femto``) from the partner's and the global budget,
        atomically, or raise ``BudgetExhausted`` (or ``BadRequest`` for an invalid amount)
        having charged nothing. With ``connection``, within the caller's transaction (which
        must then roll back on the exception)."""
        if connection is None:
            with self._engine.begin() as own:
                return self.reserve(budget, rho_nano, reference, delta_femto, own)
        for amount in (rho_nano, delta_femto):
            if isinstance(amount, bool) or not isinstance(amount, int):
                raise TypeError("the ledger charges whole nano-rho and femto-delta")
        if not 1 <= rho_nano <= budget.per_query_nano:
            raise BadRequest(
                f"rho {as_rho(rho_nano)!r} must be more than 0 and within the per-query cap "
                f"{as_rho(budget.per_query_nano)!r}"
            )
        if not 0 <= delta_femto <= budget.delta_per_query_femto:
            raise BadRequest(
                f"delta {as_delta(delta_femto)!r} is not within the per-query delta cap "
                f"{as_delta(budget.delta_per_query_femto)!r}"
            )
        rho, delta = rho_nano, delta_femto
        now = self._clock()
        rows = _budget_rows(budget, now)
        for partner, key, limit, delta_limit in rows:
            self._ensure_row(connection, partner, budget.dataset, key)
            conditions = [
                privacy_budgets.c.partner == partner,
                privacy_budgets.c.dataset == budget.dataset,
                privacy_budgets.c.period == key,
                privacy_budgets.c.spent_nano + rho <= limit,
            ]
            if delta and delta_limit is not None:
                conditions.append(privacy_budgets.c.spent_delta_femto + delta <= delta_limit)
            debited = connection.execute(
                update(privacy_budgets)
                .where(*conditions)
                .values(
                    spent_nano=privacy_budgets.c.spent_nano + rho,
                    spent_delta_femto=privacy_budgets.c.spent_delta_femto + delta,
                )
            ).rowcount
            if debited != 1:
                # The exception rolls back the transaction: any debit already taken too.
                whose = "the global cap" if partner == GLOBAL else "the partner's budget"
                spend = f"rho {as_rho(rho)}" + (f" and delta {as_delta(delta)}" if delta else "")
                raise BudgetExhausted(
                    f"{spend} does not fit in {whose} for {budget.dataset!r} this period"
                )
        charge_id = connection.execute(
            privacy_charges.insert().values(
                partner=budget.partner,
                dataset=budget.dataset,
                period=rows[0][1],
                global_period=rows[1][1] if len(rows) > 1 else None,
                rho_nano=rho,
                delta_femto=delta,
                state="reserved",
                reference=reference,
                reserved_at=now,
            )
        ).inserted_primary_key
        left, delta_left = self._left(connection, budget.dataset, rows)
        return Charge(int(charge_id[0]) if charge_id else 0, rho, left, delta, delta_left)

    def release(self, charge_id: int, connection: Connection | None = None) -> None:
        """Mark a reserved charge released: its answer has left. The rho stays spent. With
        ``connection``, within the caller's transaction (the answer is kept in the same one)."""
        statement = (
            update(privacy_charges)
            .where(privacy_charges.c.id == charge_id)
            .values(state="released", released_at=self._clock())
        )
        if connection is not None:
            connection.execute(statement)
            return
        with self._engine.begin() as own:
            own.execute(statement)

    def left(self, budget: Budget) -> tuple[int, int]:
        """Nano-rho and femto-delta the partner may still spend on the dataset this period
        (the tighter of its own budget and the global cap)."""
        with self._engine.connect() as connection:
            return self._left(connection, budget.dataset, _budget_rows(budget, self._clock()))

    def spent(self, partner: str, dataset: str, period: str) -> int:
        """Nano-rho spent by ``partner`` (``GLOBAL`` for everyone) in ``period``."""
        with self._engine.connect() as connection:
            return self._spent_both(connection, partner, dataset, period)[0]

    def spent_delta(self, partner: str, dataset: str, period: str) -> int:
        """Femto-delta spent by ``partner`` (``GLOBAL`` for everyone) in ``period``."""
        with self._engine.connect() as connection:
            return self._spent_both(connection, partner, dataset, period)[1]

    @classmethod
    def _left(cls, connection: Connection, dataset: str, rows: list[_BudgetRow]) -> tuple[int, int]:
        rho_left: list[int] = []
        delta_left: list[int] = []
        for partner, key, limit, delta_limit in rows:
            spent, spent_delta = cls._spent_both(connection, partner, dataset, key)
            rho_left.append(limit - spent)
            if delta_limit is not None:
                delta_left.append(delta_limit - spent_delta)
        return max(0, min(rho_left)), max(0, min(delta_left))

    @staticmethod
    def _spent_both(
        connection: Connection, partner: str, dataset: str, period: str
    ) -> tuple[int, int]:
        row = connection.execute(
            select(privacy_budgets.c.spent_nano, privacy_budgets.c.spent_delta_femto).where(
                privacy_budgets.c.partner == partner,
                privacy_budgets.c.dataset == dataset,
                privacy_budgets.c.period == period,
            )
        ).first()
        return (0, 0) if row is None else (int(row[0]), int(row[1]))

    @staticmethod
    def _ensure_row(connection: Connection, partner: str, dataset: str, period: str) -> None:
        insert_ignore(
            connection,
            privacy_budgets,
            {
                "partner": partner,
                "dataset": dataset,
                "period": period,
                "spent_nano": 0,
                "spent_delta_femto": 0,
            },
        )
