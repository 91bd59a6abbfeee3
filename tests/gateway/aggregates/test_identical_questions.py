"""Identical questions that race each other are charged once and all get the one answer kept;
a claim left by a crash is completed, free, by the next identical question."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from connectors.aggregate_mapping import AggregateDeclaration
from gateway.aggregates.cache import Question, aggregate_claims
from gateway.aggregates.ledger import Budget, privacy_charges
from gateway.aggregates.schemas import AggregateQuery
from gateway.aggregates.service import AggregateAnswerer, AggregateOutcome
from gateway.storage.database import open_engine, upgrade
from policies import Policy
from tests.gateway.aggregates.conftest import answerer_on

PURPOSE = "strategic-analysis"
NANO = 10**9
RACERS = 24


def the_question() -> AggregateQuery:
    return AggregateQuery.model_validate(
        {"dataset": "seizures", "template": "count", "rho": 0.125, "group_by": ["port"]}
    )


def charge_states(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.execute(select(privacy_charges.c.state)).scalars())


def assert_racers_are_charged_once(
    url: str, declaration: AggregateDeclaration, policy: Policy
) -> None:
    engine = open_engine(url, pool_size=RACERS)
    upgrade(engine)
    answerer = answerer_on(engine, declaration)
    start = threading.Barrier(RACERS)

    def ask(i: int) -> AggregateOutcome:
        start.wait()
        return answerer.answer(policy, "police", PURPOSE, f"jti-{i}", the_question())

    try:
        with ThreadPoolExecutor(max_workers=RACERS) as pool:
            outcomes = list(pool.map(ask, range(RACERS)))
        answers = {outcome.aggregate.groups for outcome in outcomes}
        assert len(answers) == 1, "partners must never hold two noisy draws of one question"
        assert sum(outcome.rho_charged_nano for outcome in outcomes) == NANO // 8
        assert answerer.ledger.spent("police", "seizures", "2024-06") == NANO // 8
        assert charge_states(engine) == ["released"]
        with engine.connect() as connection:
            assert connection.execute(select(aggregate_claims)).all() == []
    finally:
        answerer.close()
        engine.dispose()


def test_racing_identical_questions_on_sqlite_are_charged_once(
    tmp_path: Path, declaration: AggregateDeclaration, policy: Policy
) -> None:
    assert_racers_are_charged_once(f"sqlite:///{tmp_path / 'race.db'}", declaration, policy)


@pytest.mark.postgres
def test_racing_identical_questions_on_postgres_are_charged_once(
    postgres_url: str, declaration: AggregateDeclaration, policy: Policy
) -> None:
    assert_racers_are_charged_once(postgres_url, declaration, policy)


def test_a_claim_left_by_a_crash_is_completed_free_by_the_next_identical_question(
    answerer: AggregateAnswerer, node_engine: Engine, policy: Policy
) -> None:
    # A request claimed the question and took its charge, then died before answering.
    budget = Budget.in_rho("police", "seizures", 0.5, 1.0, "month", 4.0, "month")
    question = Question("police", "seizures", 0, the_question().fingerprint())
    claim = answerer.cache.claim(
        question,
        lambda connection: answerer.ledger.reserve(budget, NANO // 8, "dead", 0, connection).id,
    )
    assert claim.charge_id is not None
    assert charge_states(node_engine) == ["reserved"]

    outcome = answerer.answer(policy, "police", PURPOSE, "jti-next", the_question())
    assert outcome.rho_charged_nano == 0
    assert answerer.ledger.spent("police", "seizures", "2024-06") == NANO // 8
    assert charge_states(node_engine) == ["released"]
    again = answerer.answer(policy, "police", PURPOSE, "jti-again", the_question())
    assert (again.aggregate.cached, again.aggregate.groups) == (True, outcome.aggregate.groups)


def test_a_different_question_is_not_covered_by_anothers_claim(
    answerer: AggregateAnswerer, policy: Policy
) -> None:
    first = answerer.answer(policy, "police", PURPOSE, "j1", the_question())
    other = answerer.answer(
        policy, "police", PURPOSE, "j2", the_question().model_copy(update={"rho": 0.25})
    )
    assert (first.rho_charged_nano, other.rho_charged_nano) == (NANO // 8, NANO // 4)
