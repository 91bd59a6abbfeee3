from __future__ import annotations

import math

import pytest

from gateway.aggregates.noise import calibrate
from gateway.aggregates.schemas import AggregateQuery
from gateway.aggregates.service import AggregateAnswerer, AggregateRefused
from gateway.errors import BadRequest, BudgetExhausted
from policies import Policy
from tests.gateway.aggregates.conftest import make_policy

PURPOSE = "strategic-analysis"
NANO = 10**9


def query(**fields: object) -> AggregateQuery:
    return AggregateQuery.model_validate(
        {"dataset": "seizures", "template": "count", "rho": 0.125, **fields}
    )


def spent(answerer: AggregateAnswerer) -> int:
    return answerer.ledger.spent("police", "seizures", "2024-06")


def test_count_answer_states_mechanism_scale_interval_rho_and_budget_left(
    answerer: AggregateAnswerer, policy: Policy
) -> None:
    outcome = answerer.answer(policy, "police", PURPOSE, "j1", query(group_by=["port"]))
    noise = calibrate("discrete_gaussian", 4, NANO // 8)
    aggregate = outcome.aggregate
    assert (aggregate.mechanism, aggregate.scale, aggregate.rho_charged) == (
        "discrete_gaussian",
        noise.scale,
        0.125,
    )
    # Charged exactly what was asked, in whole nano-rho, and the budget left is exact.
    assert outcome.rho_charged_nano == noise.rho_nano == spent(answerer) == 125_000_000
    assert aggregate.budget_left_nano == 875_000_000
    assert aggregate.budget_left == 0.875
    assert [g.key for g in aggregate.groups] == [("NLRTM",), ("BEANR",), ("DEHAM",)]
    # With min_group_size 1 a group is suppressed only when its noisy count is below 1.
    for group in aggregate.groups:
        if group.suppressed:
            assert (group.value, group.ci_low, group.ci_high) == (None, None, None)
        else:
            assert group.value is not None and group.value >= 1
            assert (group.ci_low, group.ci_high) == (
                group.value - round(noise.ci95),
                group.value + round(noise.ci95),
            )


def test_sum_charges_the_value_and_the_suppression_count(
    answerer: AggregateAnswerer, policy: Policy
) -> None:
    outcome = answerer.answer(
        policy, "police", PURPOSE, "j1", query(template="sum", column="quantity_kg", rho=0.25)
    )
    expected = (
        calibrate("discrete_gaussian", 4000, NANO // 8).rho_nano
        + calibrate("discrete_gaussian", 4, NANO // 8).rho_nano
    )
    assert outcome.rho_charged_nano == expected == spent(answerer) == 250_000_000
    assert outcome.aggregate.scale == calibrate("discrete_gaussian", 4000, NANO // 8).scale


def test_repeated_question_is_answered_from_the_cache_and_charged_once(
    answerer: AggregateAnswerer, policy: Policy
) -> None:
    first = answerer.answer(policy, "police", PURPOSE, "j1", query(group_by=["port"]))
    again = answerer.answer(policy, "police", PURPOSE, "j2", query(group_by=["port"]))
    assert again.aggregate.groups == first.aggregate.groups
    assert (again.rho_charged_nano, again.aggregate.cached) == (0, True)
    assert spent(answerer) == first.rho_charged_nano


def test_data_refresh_starts_a_new_cache_generation(
    answerer: AggregateAnswerer, policy: Policy
) -> None:
    first = answerer.answer(policy, "police", PURPOSE, "j1", query())
    answerer.cache.refresh("seizures")
    fresh = answerer.answer(policy, "police", PURPOSE, "j2", query())
    assert not fresh.aggregate.cached
    assert spent(answerer) == first.rho_charged_nano + fresh.rho_charged_nano


def test_groups_below_the_minimum_size_are_suppressed_and_marked(
    answerer: AggregateAnswerer,
) -> None:
    # Exact counts 5, 2, 0 with noise scale 8: a minimum of 1000 is beyond any plausible
    # draw (over 100 standard deviations), so every group is suppressed.
    outcome = answerer.answer(
        make_policy(min_group_size=1000), "police", PURPOSE, "j1", query(group_by=["port"])
    )
    assert all(g.suppressed and g.value is None for g in outcome.aggregate.groups)
    assert outcome.rho_charged > 0


@pytest.mark.parametrize("bad", [-0.1, 0.0, math.nan, math.inf, 0.75])
def test_invalid_rho_is_refused_and_charges_nothing(
    answerer: AggregateAnswerer, policy: Policy, bad: float
) -> None:
    with pytest.raises((BadRequest, AggregateRefused), match="rho"):
        answerer.answer(policy, "police", PURPOSE, "j1", query(rho=bad))
    assert spent(answerer) == 0


def test_partner_without_a_grant_is_refused_and_charged_nothing(
    answerer: AggregateAnswerer, policy: Policy
) -> None:
    with pytest.raises(AggregateRefused):
        answerer.answer(policy, "intel", PURPOSE, "j1", query())
    assert answerer.ledger.spent("intel", "seizures", "2024-06") == 0


def test_budget_runs_out_after_the_period_limit(
    answerer: AggregateAnswerer, policy: Policy
) -> None:
    for month in ("2024-01", "2024-02"):
        answerer.answer(policy, "police", PURPOSE, "j", query(rho=0.5, filters={"month": [month]}))
    with pytest.raises(BudgetExhausted):
        answerer.answer(policy, "police", PURPOSE, "j", query(rho=0.5))
    assert spent(answerer) == NANO
