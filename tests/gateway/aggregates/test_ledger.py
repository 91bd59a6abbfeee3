from __future__ import annotations

import math
import multiprocessing
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from gateway.aggregates.ledger import GLOBAL, Budget, PrivacyLedger, privacy_charges
from gateway.aggregates.rho import check_rho, femto_floor, nano_ceil, nano_floor
from gateway.errors import BadRequest, BudgetExhausted
from gateway.storage.database import open_engine, upgrade
from tests.gateway.aggregates.conftest import NOW

NANO = 10**9
# 0.1 is not a binary fraction: in floats ten charges of 0.1 overshoot 1.0 (0.1 * 10 sums to
# 0.9999999999999999 and 1.0000000000000002 depending on order); in nano-rho they fit exactly.
RHO = NANO // 10
BUDGET = Budget.in_rho("police", "seizures", rho_per_query=0.5, limit=1.0, period="month")
K = 10


def ledger_on(engine: Engine) -> PrivacyLedger:
    return PrivacyLedger(engine, lambda: NOW)


def charges(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(select(func.count()).select_from(privacy_charges)).scalar_one()
        )


def test_charges_until_the_budget_is_spent_then_refuses(node_engine: Engine) -> None:
    ledger = ledger_on(node_engine)
    lefts = [ledger.reserve(BUDGET, RHO, f"r{i}").budget_left_nano for i in range(K)]
    assert lefts == [NANO - RHO * (i + 1) for i in range(K)]
    with pytest.raises(BudgetExhausted):
        ledger.reserve(BUDGET, 1, "one-nano-rho-too-many")
    assert ledger.spent("police", "seizures", "2024-06") == NANO
    assert charges(node_engine) == K


def test_policy_figures_convert_exactly_and_in_the_safe_direction() -> None:
    assert (nano_floor(0.1), nano_floor(0.05), nano_floor(1.0)) == (NANO // 10, NANO // 20, NANO)
    # The float 0.1 is a hair above 1/10: as a measured loss it rounds up, as a limit down.
    assert nano_ceil(0.1) == NANO // 10 + 1
    assert nano_ceil(0.09999999999) == NANO // 10
    assert check_rho(0.05, NANO // 20) == NANO // 20
    with pytest.raises(BadRequest, match="below the ledger's unit"):
        check_rho(1e-10)


def test_global_cap_binds_across_partners_and_a_refusal_debits_neither(
    node_engine: Engine,
) -> None:
    ledger = ledger_on(node_engine)
    capped = Budget.in_rho(
        "police", "seizures", 0.5, 1.0, "month", global_limit=0.2, global_period="month"
    )
    other = Budget.in_rho(
        "intel", "seizures", 0.5, 1.0, "month", global_limit=0.2, global_period="month"
    )
    ledger.reserve(capped, RHO, "a")
    ledger.reserve(other, RHO, "b")
    with pytest.raises(BudgetExhausted, match="global cap"):
        ledger.reserve(capped, RHO, "c")
    assert ledger.spent("police", "seizures", "2024-06") == RHO
    assert ledger.spent(GLOBAL, "seizures", "2024-06") == 2 * RHO


@pytest.mark.parametrize("bad", [-1, 0, NANO // 2 + 1])
def test_invalid_rho_is_refused_and_charges_nothing(node_engine: Engine, bad: int) -> None:
    ledger = ledger_on(node_engine)
    with pytest.raises(BadRequest, match="rho"):
        ledger.reserve(BUDGET, bad, "bad")
    assert ledger.spent("police", "seizures", "2024-06") == 0
    assert charges(node_engine) == 0


@pytest.mark.parametrize("bad", [-0.1, 0.0, math.nan, math.inf, -math.inf, 0.75])
def test_invalid_rho_asked_is_refused(bad: float) -> None:
    with pytest.raises(BadRequest, match="rho"):
        check_rho(bad, BUDGET.per_query_nano)


def test_a_float_amount_is_refused_by_the_ledger(node_engine: Engine) -> None:
    with pytest.raises(TypeError, match="nano-rho"):
        ledger_on(node_engine).reserve(BUDGET, 0.1, "float")  # type: ignore[arg-type]
    assert charges(node_engine) == 0


def test_released_charge_is_never_refunded(node_engine: Engine) -> None:
    ledger = ledger_on(node_engine)
    charge = ledger.reserve(BUDGET, RHO, "r")
    ledger.release(charge.id)
    assert ledger.spent("police", "seizures", "2024-06") == RHO
    with node_engine.connect() as connection:
        assert connection.execute(select(privacy_charges.c.state)).scalar_one() == "released"


def race(engine: Engine, attempts: int) -> int:
    ledger = ledger_on(engine)

    def attempt(i: int) -> bool:
        try:
            ledger.reserve(BUDGET, RHO, f"race-{i}")
        except BudgetExhausted:
            return False
        return True

    with ThreadPoolExecutor(max_workers=32) as pool:
        return sum(pool.map(attempt, range(attempts)))


def race_in_process(url: str, attempts: int) -> int:
    engine = open_engine(url, pool_size=16)
    try:
        return race(engine, attempts)
    finally:
        engine.dispose()


def assert_exactly_k_of_200(url: str) -> None:
    engine = open_engine(url, pool_size=16)
    try:
        upgrade(engine)
        assert race(engine, 200) == K
        assert ledger_on(engine).spent("police", "seizures", "2024-06") == NANO
        assert charges(engine) == K
    finally:
        engine.dispose()


def assert_exactly_k_from_two_processes(url: str) -> None:
    engine = open_engine(url)
    upgrade(engine)
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        won = sum(pool.starmap(race_in_process, [(url, 100), (url, 100)]))
    assert won == K
    assert charges(engine) == K
    engine.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> Iterator[str]:
    yield f"sqlite:///{tmp_path / 'ledger.db'}"


def test_200_concurrent_charges_on_sqlite_exactly_k_succeed(sqlite_url: str) -> None:
    assert_exactly_k_of_200(sqlite_url)


def test_200_charges_from_two_processes_on_sqlite_exactly_k_succeed(sqlite_url: str) -> None:
    assert_exactly_k_from_two_processes(sqlite_url)


@pytest.mark.postgres
def test_200_concurrent_charges_on_postgres_exactly_k_succeed(postgres_url: str) -> None:
    assert_exactly_k_of_200(postgres_url)


@pytest.mark.postgres
def test_200_charges_from_two_processes_on_postgres_exactly_k_succeed(postgres_url: str) -> None:
    assert_exactly_k_from_two_processes(postgres_url)


DELTA_BUDGET = Budget.in_rho(
    "police", "seizures", 0.5, 1.0, "month", 4.0, "month",
    delta_per_query=1e-8, delta_limit=1e-6, global_delta_limit=1.5e-8,
)  # fmt: skip


def test_delta_is_debited_beside_rho_against_the_partner_and_the_global_cap(
    node_engine: Engine,
) -> None:
    ledger = ledger_on(node_engine)
    first = ledger.reserve(DELTA_BUDGET, RHO, "d1", delta_femto=10**7)
    # The global delta cap is the tighter one.
    assert (first.delta_femto, first.delta_left_femto) == (10**7, femto_floor(1.5e-8) - 10**7)
    with pytest.raises(BudgetExhausted, match=r"delta .* global cap"):
        ledger.reserve(DELTA_BUDGET, RHO, "d2", delta_femto=10**7)
    # Refused as a whole: neither the rho nor the partner's delta was taken.
    assert ledger.spent("police", "seizures", "2024-06") == RHO
    assert ledger.spent_delta("police", "seizures", "2024-06") == 10**7
    assert ledger.spent_delta(GLOBAL, "seizures", "2024-06") == 10**7
    # A question without key selection still fits: it spends no delta.
    assert ledger.reserve(DELTA_BUDGET, RHO, "d3").delta_femto == 0


@pytest.mark.parametrize("bad", [-1, 10**7 + 1])
def test_delta_outside_the_per_query_cap_is_refused_uncharged(
    node_engine: Engine, bad: int
) -> None:
    ledger = ledger_on(node_engine)
    with pytest.raises(BadRequest, match="delta"):
        ledger.reserve(DELTA_BUDGET, RHO, "bad", delta_femto=bad)
    assert charges(node_engine) == 0
