"""Group keys chosen by a DP threshold (partition selection) for columns without a public
value list: what is released, what it costs in rho and delta, and how the ledger and the
policy bound it."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.aggregate_mapping import AggregateDeclaration, load_aggregate_declaration
from gateway.aggregates.declarations import check_query
from gateway.aggregates.noise import (
    _threshold_loss,
    _threshold_measurement,
    calibrate,
    select_keys,
)
from gateway.aggregates.rho import femto_ceil, femto_floor, nano_ceil
from gateway.aggregates.schemas import AggregateQuery
from gateway.aggregates.service import AggregateAnswerer, AggregateRefused
from gateway.errors import BadRequest, BudgetExhausted
from policies import Policy, load_policy
from tests.gateway.aggregates.conftest import write_seizures

PURPOSE = "strategic-analysis"
NANO = 10**9
FEMTO = 10**15
DELTA_PER_QUERY_FEMTO = 10**7  # 1e-8

# 300 cases at NLRTM and 200 at BEANR (one row each), and one case of 4 rows at a port only
# it uses: its key must never be released.
ROWS = [
    *[(f"N{i}", "NLRTM", "2024-01", 10) for i in range(300)],
    *[(f"B{i}", "BEANR", "2024-02", 20) for i in range(200)],
    *[("LONE", "QQLON", "2024-01", 999)] * 4,
]

DECLARATION = """\
aggregate_dataset: seizures
source: {kind: sql, url: sqlite:///seizures.db, table: seizures}
privacy_unit: case_id
max_rows_per_unit: 4
columns:
  port: {type: categorical}
  month: {type: categorical, values: ["2024-01", "2024-02"]}
  quantity_kg: {type: integer, lower: 0, upper: 1000}
"""

POLICY = """\
policy: 1
node: customs
purposes:
  strategic-analysis:
    legal_basis: "test"
rules:
  - id: seizure-statistics
    partners: [police]
    purposes: [strategic-analysis]
    aggregate:
      datasets:
        seizures:
          columns: [port, month, quantity_kg]
          group_by: [[port], [port, month]]
          min_group_size: 10
          rho_per_query: 0.5
          rho_per_period: 4.0
          period: month
{delta}
"""


def make_policy(
    delta: str = "delta_per_query: 1.0e-8\n          delta_per_period: 1.0e-6",
) -> Policy:
    return load_policy(POLICY.format(delta=f"          {delta}" if delta else ""))


def query(**fields: object) -> AggregateQuery:
    return AggregateQuery.model_validate(
        {"dataset": "seizures", "template": "count", "rho": 0.5, "group_by": ["port"], **fields}
    )


@pytest.fixture
def declaration(tmp_path: Path) -> AggregateDeclaration:
    write_seizures(tmp_path / "seizures.db", ROWS)
    (tmp_path / "seizures.yaml").write_text(DECLARATION)
    return load_aggregate_declaration(tmp_path / "seizures.yaml")


def spent(answerer: AggregateAnswerer) -> tuple[int, int]:
    return (
        answerer.ledger.spent("police", "seizures", "2024-06"),
        answerer.ledger.spent_delta("police", "seizures", "2024-06"),
    )


@pytest.mark.parametrize(
    ("contributions", "rho_nano", "delta_femto"),
    [(4, NANO // 2, 10**7), (1, NANO // 10, 10**9), (4, NANO // 4, 10**5)],
)
def test_threshold_loss_is_opendps_map_at_k_k_k_and_the_threshold_is_the_least_that_fits(
    contributions: int, rho_nano: int, delta_femto: int
) -> None:
    selection = select_keys(contributions, rho_nano, delta_femto)
    rho, delta = selection.measurement.map((contributions,) * 3)
    assert (selection.rho_nano, selection.delta_femto) == (nano_ceil(rho), femto_ceil(delta))
    # rho is the plain discrete Gaussian's at the same scale: k^2 / (2 scale^2) = what was asked.
    assert selection.scale == calibrate("discrete_gaussian", contributions, rho_nano).scale
    assert selection.rho_nano == rho_nano
    assert selection.delta_femto <= delta_femto
    lower = selection.threshold - 1
    if lower >= contributions:  # OpenDP refuses thresholds below the l-infinity bound
        looser = _threshold_loss(_threshold_measurement(selection.scale, lower), contributions)
        assert looser[1] > delta_femto


def test_threshold_never_goes_below_the_minimum_group_size() -> None:
    assert select_keys(4, NANO // 2, 10**12, least_threshold=500).threshold == 500


def test_question_on_a_column_without_public_values_needs_key_selection(
    declaration: AggregateDeclaration,
) -> None:
    assert check_query(declaration, query()).selects_keys
    assert check_query(declaration, query()).keys == ()
    # Filtering the column to a list makes the asker's values the keys: nothing to select.
    filtered = check_query(declaration, query(filters={"port": ["QQLON", "NLRTM"]}))
    assert (filtered.selects_keys, filtered.keys) == (False, (("NLRTM",), ("QQLON",)))


def test_count_releases_only_keys_whose_noisy_count_reaches_the_threshold(
    answerer: AggregateAnswerer,
) -> None:
    outcome = answerer.answer(make_policy(), "police", PURPOSE, "j1", query())
    aggregate = outcome.aggregate
    selection = select_keys(4, NANO // 2, DELTA_PER_QUERY_FEMTO, 10)
    # 300 and 200 are over 50 noise scales above the threshold; the lone case's 4 rows are
    # over 10 below it.
    assert selection.threshold < 100
    assert [g.key for g in aggregate.groups] == [("BEANR",), ("NLRTM",)]
    assert aggregate.key_selection is not None
    assert aggregate.key_selection.threshold == selection.threshold
    assert aggregate.key_selection.delta_charged_femto == selection.delta_femto
    assert aggregate.key_selection.delta_charged == selection.delta_femto / FEMTO
    assert (outcome.rho_charged_nano, aggregate.scale) == (NANO // 2, selection.scale)
    assert spent(answerer) == (NANO // 2, selection.delta_femto)
    # The policy's 1e-6 is a hair below 10^9 femto-delta as a float: limits round down.
    assert aggregate.key_selection.delta_left_femto == femto_floor(1e-6) - selection.delta_femto
    for group in aggregate.groups:
        assert group.value is not None and group.value >= selection.threshold
        half = round(selection.ci95)
        assert (group.ci_low, group.ci_high) == (group.value - half, group.value + half)


def test_sum_spends_half_the_rho_choosing_keys_and_half_on_the_sums(
    answerer: AggregateAnswerer,
) -> None:
    outcome = answerer.answer(
        make_policy(), "police", PURPOSE, "j1", query(template="sum", column="quantity_kg")
    )
    values = calibrate("discrete_gaussian", 4000, NANO // 4)
    selection = select_keys(4, NANO // 4, DELTA_PER_QUERY_FEMTO, 10)
    assert outcome.rho_charged_nano == values.rho_nano + selection.rho_nano == NANO // 2
    assert spent(answerer) == (NANO // 2, selection.delta_femto)
    assert outcome.aggregate.scale == values.scale
    assert [g.key for g in outcome.aggregate.groups] == [("BEANR",), ("NLRTM",)]


def test_two_column_grouping_selects_key_pairs(answerer: AggregateAnswerer) -> None:
    outcome = answerer.answer(
        make_policy(), "police", PURPOSE, "j1", query(group_by=["port", "month"])
    )
    assert [g.key for g in outcome.aggregate.groups] == [
        ("BEANR", "2024-02"),
        ("NLRTM", "2024-01"),
    ]


def test_policy_without_delta_refuses_key_selection_and_charges_nothing(
    answerer: AggregateAnswerer,
) -> None:
    with pytest.raises(AggregateRefused, match="grants no delta"):
        answerer.answer(make_policy(delta=""), "police", PURPOSE, "j1", query())
    assert spent(answerer) == (0, 0)
    # Public keys (a filter) still work under that policy, and cost no delta.
    outcome = answerer.answer(
        make_policy(delta=""), "police", PURPOSE, "j2", query(filters={"port": ["NLRTM"]})
    )
    assert outcome.aggregate.key_selection is None
    assert spent(answerer) == (NANO // 2, 0)


def test_laplace_count_with_key_selection_is_refused_uncharged(
    answerer: AggregateAnswerer,
) -> None:
    with pytest.raises(BadRequest, match="discrete_gaussian"):
        answerer.answer(make_policy(), "police", PURPOSE, "j1", query(mechanism="discrete_laplace"))
    assert spent(answerer) == (0, 0)


def test_delta_budget_runs_out_and_the_refusal_charges_nothing(
    answerer: AggregateAnswerer,
) -> None:
    one = select_keys(4, NANO // 2, DELTA_PER_QUERY_FEMTO, 10).delta_femto
    # Room for one query's delta and a half: the second query does not fit. (The same
    # threshold is the least that fits this tighter per-query delta too.)
    cap = one * 3 / 2 / FEMTO
    assert select_keys(4, NANO // 2, femto_floor(cap), 10).delta_femto == one
    policy = make_policy(f"delta_per_query: {cap!r}\n          delta_per_period: {cap!r}")
    answerer.answer(policy, "police", PURPOSE, "j1", query())
    with pytest.raises(BudgetExhausted, match="delta"):
        answerer.answer(policy, "police", PURPOSE, "j2", query(filters={"month": ["2024-01"]}))
    assert spent(answerer) == (NANO // 2, one)


def test_repeated_key_selection_is_answered_from_the_cache_free(
    answerer: AggregateAnswerer,
) -> None:
    first = answerer.answer(make_policy(), "police", PURPOSE, "j1", query())
    again = answerer.answer(make_policy(), "police", PURPOSE, "j2", query())
    assert again.aggregate.groups == first.aggregate.groups
    assert again.aggregate.cached and again.rho_charged_nano == 0
    assert again.aggregate.key_selection is not None
    assert again.aggregate.key_selection.delta_charged_femto == 0
    assert spent(answerer) == (NANO // 2, first.aggregate.key_selection.delta_charged_femto)  # type: ignore[union-attr]


def test_observed_threshold_noise_matches_the_stated_scale() -> None:
    """A key far above the threshold is always released with discrete Gaussian noise of the
    stated scale: over 2,000 draws the sample standard deviation is within 10% of it (its own
    standard error is about 1.6%) and the mean within 5 standard errors of the exact count."""
    selection = select_keys(4, NANO // 2, DELTA_PER_QUERY_FEMTO, 10)
    draws = [selection.release({"big": 1000, "lone": 1})["big"] - 1000 for _ in range(2000)]
    mean = sum(draws) / len(draws)
    sd = (sum((d - mean) ** 2 for d in draws) / (len(draws) - 1)) ** 0.5
    assert abs(sd - selection.scale) < 0.1 * selection.scale
    assert abs(mean) < 5 * selection.scale / len(draws) ** 0.5
    # The stated interval holds at least 95% (on integers it is conservative: at scale 4 the
    # half-width 9 holds about 98%).
    inside = sum(abs(d) <= selection.ci95 for d in draws) / len(draws)
    assert 0.93 <= inside <= 0.995
