"""The demo federation's example policies load, pass the federation checks, and decide as
their comments say."""

from __future__ import annotations

from pathlib import Path

import pytest

from policies import (
    AggregateRequest,
    MatchRequest,
    Policy,
    check_policy,
    decide_aggregate,
    decide_match,
    load_policy,
)
from tests.policies.builders import MEMBERS, VOCABULARY

EXAMPLES = Path(__file__).parents[2] / "policies" / "examples"
DATASETS = {
    "customs": ("shipments", "seizures", "shipments_agg"),
    "police": ("case_persons", "seizures"),
    "intel": ("watch_entries", "seizures"),
}


def example(node: str) -> Policy:
    return load_policy((EXAMPLES / f"{node}.yaml").read_text(encoding="utf-8"), source=node)


@pytest.mark.parametrize("node", sorted(DATASETS))
def test_example_loads_and_passes_the_federation_checks(node: str) -> None:
    policy = example(node)
    assert policy.node == node
    issues = check_policy(
        policy, partners=MEMBERS, identifier_types=VOCABULARY, datasets=DATASETS[node]
    )
    assert issues == []
    assert policy.follow_up is not None and policy.follow_up.deadline_hours == 48


@pytest.mark.parametrize(
    ("node", "partner", "types"),
    [
        ("customs", "police", ("container", "vessel", "phone", "company", "person")),
        ("customs", "intel", ("container", "vessel", "company", "phone")),
        ("police", "customs", ("passport", "phone", "vehicle", "person")),
        ("police", "intel", ("passport", "phone", "email", "person")),
        ("intel", "police", ("company", "iban", "vessel", "phone", "person")),
        ("intel", "customs", ("company", "vessel", "iban")),
    ],
)
def test_partners_may_match_what_they_would_search_for(
    node: str, partner: str, types: tuple[str, ...]
) -> None:
    request = MatchRequest(partner, "organised-crime", (*types, "bic"))
    decision = decide_match(example(node), request)
    assert decision.allowed_types == frozenset(types)
    assert decision.match is not None
    assert decision.match.minors_hit_only
    assert decision.match.quota_per_day is not None


def test_intel_discloses_only_a_reference_and_contact_point() -> None:
    decision = decide_match(example("intel"), MatchRequest("police", "organised-crime", ("iban",)))
    assert decision.match is not None
    assert decision.match.disclose == frozenset({"hit_reference", "contact_point"})


@pytest.mark.parametrize(("node", "partner"), [("customs", "intel"), ("police", "customs")])
def test_seizure_statistics_grant(node: str, partner: str) -> None:
    request = AggregateRequest(
        partner, "strategic-analysis", "seizures", ("quantity_kg",), ("port", "month"), 0.05
    )
    decision = decide_aggregate(example(node), request)
    assert decision.aggregate is not None
    obligations = decision.aggregate
    assert (obligations.min_group_size, obligations.rho_per_query) == (5, 0.05)
    assert (obligations.rho_per_period, obligations.period) == (1.0, "month")
    assert (obligations.global_cap_rho, obligations.global_cap_period) == (4.0, "month")
    assert obligations.columns == frozenset({"port", "commodity", "month", "quantity_kg"})


def test_statistics_are_not_a_way_into_individual_records() -> None:
    match = MatchRequest("intel", "strategic-analysis", ("container",))
    assert not decide_match(example("customs"), match).allowed
    costly = AggregateRequest("intel", "strategic-analysis", "seizures", (), (), rho=0.06)
    assert not decide_aggregate(example("customs"), costly).allowed
