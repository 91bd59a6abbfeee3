"""Deciding requests: deny by default, first allowing rule wins per identifier type, and
evaluation fails closed."""

from __future__ import annotations

from typing import Any

import pytest

import policies.evaluate
from policies import (
    EVALUATION_FAILED,
    AggregateRequest,
    MatchRequest,
    Policy,
    decide_aggregate,
    decide_match,
    decide_match_per_type,
    explain,
)
from tests.policies.builders import base, load


def two_match_rules() -> Policy:
    """police-match grants container+vessel (no disclosure); a later rule grants vessel+phone
    with disclosure and a quota."""
    document = base()
    document["rules"].insert(
        1,
        {
            "id": "police-phones",
            "partners": ["police"],
            "purposes": ["organised-crime"],
            "match": {
                "identifier_types": ["vessel", "phone"],
                "datasets": ["shipments"],
                "subject_categories": ["suspect", "associate"],
                "handling_codes": ["H0", "H1"],
                "disclose": ["hit_reference"],
                "minors": "disclose",
                "notify_owner": False,
                "quota_per_day": 100,
                "rate_limit_per_minute": 10,
            },
        },
    )
    return load(document)


def test_decision_carries_the_policy_version() -> None:
    policy = load(base())
    request = MatchRequest("police", "organised-crime", ("container",))
    assert decide_match(policy, request).policy_version == policy.version_hash
    assert (
        decide_match(policy, MatchRequest("x", "y", ("z",))).policy_version == policy.version_hash
    )


def test_denial_has_no_rule_and_no_obligations() -> None:
    decision = decide_match(load(base()), MatchRequest("intel", "organised-crime", ("container",)))
    assert not decision.allowed
    assert (decision.rule_id, decision.match, decision.aggregate) == (None, None, None)
    assert decision.allowed_types == frozenset()
    assert decision.reason == (
        "no rule allows partner 'intel' to match container for purpose 'organised-crime'; "
        "denied by default"
    )


def test_first_rule_in_document_order_decides_a_type() -> None:
    policy = two_match_rules()
    decision = decide_match(policy, MatchRequest("police", "organised-crime", ("vessel",)))
    assert decision.rule_id == "police-match"
    assert decision.match is not None and decision.match.disclose == frozenset()


def test_later_rule_decides_the_types_only_it_grants() -> None:
    policy = two_match_rules()
    decision = decide_match(policy, MatchRequest("police", "organised-crime", ("phone",)))
    assert decision.rule_id == "police-phones"
    assert decision.match is not None and decision.match.quota_per_day == 100


def test_partially_granted_request_is_allowed_for_the_granted_types() -> None:
    policy = load(base())
    request = MatchRequest("police", "organised-crime", ("container", "iban"))
    decision = decide_match(policy, request)
    assert decision.allowed
    assert decision.allowed_types == frozenset({"container"})
    assert decision.reason.endswith("; not granted: iban")


def test_types_granted_by_different_rules_get_the_strictest_obligations() -> None:
    policy = two_match_rules()
    request = MatchRequest("police", "organised-crime", ("container", "phone"))
    decision = decide_match(policy, request)
    assert decision.allowed_types == frozenset({"container", "phone"})
    assert (decision.rule_id, decision.rule_ids) == (
        "police-match",
        ("police-match", "police-phones"),
    )
    obligations = decision.match
    assert obligations is not None
    assert obligations.datasets == frozenset({"shipments"})
    assert obligations.subject_categories == frozenset({"suspect"})
    assert obligations.handling_codes == frozenset({"H0"})
    assert obligations.disclose == frozenset()
    assert obligations.minors_hit_only and obligations.notify_owner
    assert (obligations.quota_per_day, obligations.rate_limit_per_minute) == (100, 10)


def test_per_type_decisions_carry_each_rules_own_obligations() -> None:
    policy = two_match_rules()
    request = MatchRequest("police", "organised-crime", ("container", "phone", "iban", "phone"))
    decisions = decide_match_per_type(policy, request)
    assert list(decisions) == ["container", "phone", "iban"]
    assert decisions["container"].rule_id == "police-match"
    assert decisions["phone"].rule_id == "police-phones"
    phone = decisions["phone"].match
    assert phone is not None and phone.disclose == frozenset({"hit_reference"})
    assert decisions["phone"].allowed_types == frozenset({"phone"})
    assert not decisions["iban"].allowed and decisions["iban"].match is None


def test_request_naming_a_dataset_narrows_the_obligations_to_it() -> None:
    request = MatchRequest("police", "organised-crime", ("container",), dataset="shipments")
    decision = decide_match(load(base()), request)
    assert decision.match is not None and decision.match.datasets == frozenset({"shipments"})


def test_request_without_identifier_types_is_denied() -> None:
    decision = decide_match(load(base()), MatchRequest("police", "organised-crime", ()))
    assert not decision.allowed
    assert decision.reason == "no identifier types were requested"


def test_identifier_types_given_as_one_string_fail_closed() -> None:
    request = MatchRequest("police", "organised-crime", "container")  # type: ignore[arg-type]
    decision = decide_match(load(base()), request)
    assert (decision.allowed, decision.reason) == (False, EVALUATION_FAILED)


@pytest.mark.parametrize("rho", [0.0, -0.01, float("nan"), float("inf"), True, "0.01"])
def test_aggregate_with_an_invalid_rho_is_denied(rho: Any) -> None:
    request = AggregateRequest("intel", "strategic-analysis", "seizures", (), (), rho=rho)
    decision = decide_aggregate(load(base()), request)
    assert not decision.allowed
    assert decision.reason.startswith("rho must be a positive number")


def test_aggregate_rho_equal_to_the_per_query_cap_is_allowed() -> None:
    request = AggregateRequest("intel", "strategic-analysis", "seizures", (), (), rho=0.05)
    decision = decide_aggregate(load(base()), request)
    assert decision.allowed and decision.rule_id == "intel-aggregates"
    assert decision.reason == (
        "rule 'intel-aggregates' allows partner 'intel' this aggregate on 'seizures' for "
        "purpose 'strategic-analysis'"
    )


def test_aggregate_first_covering_rule_decides() -> None:
    document = base()
    generous = dict(document["rules"][1], id="intel-generous")
    generous["aggregate"] = {"datasets": {"seizures": {
        "columns": ["port", "month", "quantity_kg", "value"], "rho_per_query": 0.5,
        "rho_per_period": 1.0, "min_group_size": 20,
    }}}  # fmt: skip
    document["rules"].append(generous)
    policy = load(document)
    small = AggregateRequest("intel", "strategic-analysis", "seizures", ("port",), (), 0.05)
    large = AggregateRequest("intel", "strategic-analysis", "seizures", ("value",), (), 0.05)
    assert decide_aggregate(policy, small).rule_id == "intel-aggregates"
    decision = decide_aggregate(policy, large)
    assert decision.rule_id == "intel-generous"
    assert decision.aggregate is not None and decision.aggregate.min_group_size == 20


# --- fail closed ---


def explode(*args: object) -> object:
    raise RuntimeError("bug in a rule matcher")


def test_match_evaluation_error_is_a_denial(monkeypatch: pytest.MonkeyPatch) -> None:
    policy = load(base())
    monkeypatch.setattr(policies.evaluate, "check_match_rule", explode)
    request = MatchRequest("police", "organised-crime", ("container",))
    decision = decide_match(policy, request)
    assert (decision.allowed, decision.reason, decision.rule_id) == (False, EVALUATION_FAILED, None)
    assert decision.match is None and decision.allowed_types == frozenset()
    assert decision.policy_version == policy.version_hash
    per_type = decide_match_per_type(policy, request)
    assert [(d.allowed, d.reason) for d in per_type.values()] == [(False, EVALUATION_FAILED)]
    explanation = explain(policy, request)
    assert not explanation.decision.allowed and explanation.outcomes == []


def test_aggregate_evaluation_error_is_a_denial(monkeypatch: pytest.MonkeyPatch) -> None:
    policy = load(base())
    monkeypatch.setattr(policies.evaluate, "check_aggregate_rule", explode)
    request = AggregateRequest("intel", "strategic-analysis", "seizures", (), (), 0.05)
    decision = decide_aggregate(policy, request)
    assert (decision.allowed, decision.reason, decision.aggregate) == (
        False,
        EVALUATION_FAILED,
        None,
    )


def test_error_computing_the_version_still_denies(monkeypatch: pytest.MonkeyPatch) -> None:
    policy = load(base())

    def broken(self: Policy) -> dict[str, Any]:
        raise ValueError("cannot serialise")

    monkeypatch.setattr(Policy, "canonical", broken)
    policy.__dict__.pop("version_hash", None)
    decision = decide_match(policy, MatchRequest("police", "organised-crime", ("container",)))
    assert (decision.allowed, decision.reason, decision.policy_version) == (
        False, EVALUATION_FAILED, "",
    )  # fmt: skip


def test_something_that_is_not_a_policy_is_denied() -> None:
    request = MatchRequest("police", "organised-crime", ("container",))
    assert not decide_match(None, request).allowed  # type: ignore[arg-type]
    assert decide_match_per_type(None, request)["container"].reason == EVALUATION_FAILED  # type: ignore[arg-type]
