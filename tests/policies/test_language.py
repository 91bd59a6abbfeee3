"""Every field of the language: it is read, its default is what the guide says, and it has
its effect on decisions. One test per field, in the order of the guide."""

from __future__ import annotations

from typing import Any

from policies import (
    AggregateObligations,
    AggregateRequest,
    MatchObligations,
    MatchRequest,
    Policy,
    decide_aggregate,
    decide_match,
    load_policy,
)
from policies.model import FollowUp
from tests.policies.builders import base, dump, issues_of, load

POLICE = MatchRequest("police", "organised-crime", ("container",))
INTEL = AggregateRequest(
    "intel", "strategic-analysis", "seizures", ("quantity_kg",), ("port",), rho=0.05
)


def match_grant(document: dict[str, Any]) -> dict[str, Any]:
    grant: dict[str, Any] = document["rules"][0]["match"]
    return grant


def seizures(document: dict[str, Any]) -> dict[str, Any]:
    grant: dict[str, Any] = document["rules"][1]["aggregate"]["datasets"]["seizures"]
    return grant


def match_of(policy: Policy) -> MatchObligations:
    decision = decide_match(policy, POLICE)
    assert decision.match is not None, decision.reason
    return decision.match


def aggregate_of(policy: Policy) -> AggregateObligations:
    decision = decide_aggregate(policy, INTEL)
    assert decision.aggregate is not None, decision.reason
    return decision.aggregate


def test_base_policy_allows_its_two_grants() -> None:
    policy = load(base())
    assert decide_match(policy, POLICE).allowed
    assert decide_aggregate(policy, INTEL).allowed


# --- document ---


def test_policy_version_must_be_1() -> None:
    document = base()
    assert load(document).policy == 1
    document["policy"] = 2
    assert issues_of(dump(document))[0].path == "policy"


def test_node_is_read() -> None:
    document = base()
    document["node"] = "police"
    assert load(document).node == "police"


def test_node_is_required() -> None:
    document = base()
    del document["node"]
    assert [i.path for i in issues_of(dump(document))] == ["node"]


# --- purposes ---


def test_purpose_legal_basis_and_description_are_read_with_empty_default() -> None:
    document = base()
    document["purposes"]["organised-crime"]["description"] = "Crime groups"
    policy = load(document)
    assert policy.purposes["organised-crime"].legal_basis == "Directive (EU) 2023/977"
    assert policy.purposes["organised-crime"].description == "Crime groups"
    assert policy.purposes["strategic-analysis"].description == ""


def test_purposes_default_to_none_and_then_no_rule_may_name_one() -> None:
    assert load_policy("policy: 1\nnode: customs\n").purposes == {}
    document = base()
    del document["purposes"]
    assert {i.path for i in issues_of(dump(document))} == {
        "rules[0].purposes[0]",
        "rules[1].purposes[0]",
    }


# --- rules ---


def test_rules_default_to_none_and_everything_is_denied() -> None:
    policy = load_policy("policy: 1\nnode: customs\n")
    assert policy.rules == ()
    assert not decide_match(policy, POLICE).allowed
    assert not decide_aggregate(policy, INTEL).allowed


def test_rule_id_names_the_deciding_rule() -> None:
    document = base()
    document["rules"][0]["id"] = "police-containers"
    assert decide_match(load(document), POLICE).rule_id == "police-containers"


def test_rule_description_defaults_to_empty_and_does_not_change_decisions() -> None:
    document = base()
    assert load(document).rules[0].description == ""
    document["rules"][0]["description"] = "Police may check containers"
    policy = load(document)
    assert policy.rules[0].description == "Police may check containers"
    assert decide_match(policy, POLICE).allowed


def test_rule_partners_limit_who_is_allowed() -> None:
    policy = load(base())
    assert policy.rules[0].partners == ("police",)
    assert not decide_match(
        policy, MatchRequest("intel", "organised-crime", ("container",))
    ).allowed


def test_rule_purposes_limit_what_for() -> None:
    policy = load(base())
    assert policy.rules[0].purposes == ("organised-crime",)
    request = MatchRequest("police", "strategic-analysis", ("container",))
    assert not decide_match(policy, request).allowed


def test_rule_match_and_aggregate_default_to_none() -> None:
    policy = load(base())
    assert policy.rules[0].aggregate is None
    assert policy.rules[1].match is None
    assert not decide_match(
        policy, MatchRequest("intel", "strategic-analysis", ("vessel",))
    ).allowed


# --- match ---


def test_match_identifier_types_are_the_allowed_types() -> None:
    policy = load(base())
    decision = decide_match(policy, MatchRequest("police", "organised-crime", ("vessel", "iban")))
    assert decision.allowed_types == frozenset({"vessel"})


def test_match_datasets_default_to_all_and_restrict_when_set() -> None:
    document = base()
    assert match_of(load(document)).datasets is None
    match_grant(document)["datasets"] = ["shipments"]
    policy = load(document)
    assert match_of(policy).datasets == frozenset({"shipments"})
    other = MatchRequest("police", "organised-crime", ("container",), dataset="manifests")
    assert not decide_match(policy, other).allowed
    same = MatchRequest("police", "organised-crime", ("container",), dataset="shipments")
    assert decide_match(policy, same).allowed


def test_match_subject_categories_are_obligations() -> None:
    document = base()
    match_grant(document)["subject_categories"] = ["suspect", "minor"]
    obligations = decide_match(load(document), POLICE).match
    assert obligations is not None
    assert obligations.subject_categories == {"suspect", "minor"}


def test_match_handling_codes_are_obligations() -> None:
    document = base()
    match_grant(document)["handling_codes"] = ["H0", "H2"]
    obligations = decide_match(load(document), POLICE).match
    assert obligations is not None
    assert obligations.handling_codes == {"H0", "H2"}


def test_match_subject_categories_and_handling_codes_are_required() -> None:
    document = base()
    del match_grant(document)["subject_categories"]
    del match_grant(document)["handling_codes"]
    assert {i.path for i in issues_of(dump(document))} == {
        "rules[0].match.subject_categories",
        "rules[0].match.handling_codes",
    }


def test_match_disclose_defaults_to_nothing() -> None:
    document = base()
    assert match_of(load(document)).disclose == frozenset()
    match_grant(document)["disclose"] = ["hit_reference", "date_range"]
    obligations = decide_match(load(document), POLICE).match
    assert obligations is not None
    assert obligations.disclose == {"hit_reference", "date_range"}


def test_match_minors_default_to_hit_only() -> None:
    document = base()
    grant = load(document).rules[0].match
    assert grant is not None and grant.minors == "hit_only"
    assert match_of(load(document)).minors_hit_only
    match_grant(document)["minors"] = "disclose"
    assert not match_of(load(document)).minors_hit_only


def test_match_notify_owner_defaults_to_true() -> None:
    document = base()
    assert match_of(load(document)).notify_owner
    match_grant(document)["notify_owner"] = False
    assert not match_of(load(document)).notify_owner


def test_match_quota_per_day_defaults_to_none() -> None:
    document = base()
    assert match_of(load(document)).quota_per_day is None
    match_grant(document)["quota_per_day"] = 2000
    assert match_of(load(document)).quota_per_day == 2000


def test_match_rate_limit_per_minute_defaults_to_none() -> None:
    document = base()
    obligations = decide_match(load(document), POLICE).match
    assert obligations is not None and obligations.rate_limit_per_minute is None
    match_grant(document)["rate_limit_per_minute"] = 120
    obligations = decide_match(load(document), POLICE).match
    assert obligations is not None and obligations.rate_limit_per_minute == 120


# --- aggregate ---


def test_aggregate_datasets_limit_the_dataset() -> None:
    policy = load(base())
    grant = policy.rules[1].aggregate
    assert grant is not None and list(grant.datasets) == ["seizures"]
    other = AggregateRequest("intel", "strategic-analysis", "shipments", (), (), rho=0.05)
    assert not decide_aggregate(policy, other).allowed


def test_aggregate_columns_limit_the_columns() -> None:
    policy = load(base())
    decision = decide_aggregate(policy, INTEL)
    assert decision.aggregate is not None
    assert decision.aggregate.columns == {"port", "month", "quantity_kg"}
    wider = AggregateRequest("intel", "strategic-analysis", "seizures", ("value",), (), rho=0.05)
    assert not decide_aggregate(policy, wider).allowed


def test_aggregate_group_by_lists_allowed_groupings_in_any_order() -> None:
    policy = load(base())
    decision = decide_aggregate(policy, INTEL)
    assert decision.aggregate is not None
    assert decision.aggregate.group_by == (frozenset({"port"}), frozenset({"port", "month"}))
    reordered = AggregateRequest(
        "intel", "strategic-analysis", "seizures", (), ("month", "port"), 0.05
    )
    assert decide_aggregate(policy, reordered).allowed
    by_month = AggregateRequest("intel", "strategic-analysis", "seizures", (), ("month",), 0.05)
    assert not decide_aggregate(policy, by_month).allowed


def test_aggregate_group_by_defaults_to_totals_only() -> None:
    document = base()
    del seizures(document)["group_by"]
    policy = load(document)
    grant = policy.rules[1].aggregate
    assert grant is not None and grant.datasets["seizures"].group_by == ()
    total = AggregateRequest("intel", "strategic-analysis", "seizures", ("quantity_kg",), (), 0.05)
    assert decide_aggregate(policy, total).allowed
    assert not decide_aggregate(policy, INTEL).allowed


def test_aggregate_min_group_size_defaults_to_10() -> None:
    document = base()
    assert aggregate_of(load(document)).min_group_size == 10
    seizures(document)["min_group_size"] = 5
    assert aggregate_of(load(document)).min_group_size == 5


def test_aggregate_mechanism_defaults_to_discrete_gaussian() -> None:
    document = base()
    assert aggregate_of(load(document)).mechanism == "discrete_gaussian"
    seizures(document)["mechanism"] = "discrete_laplace"
    assert aggregate_of(load(document)).mechanism == "discrete_laplace"


def test_aggregate_rho_per_query_caps_each_query() -> None:
    policy = load(base())
    assert aggregate_of(policy).rho_per_query == 0.05
    greedy = AggregateRequest("intel", "strategic-analysis", "seizures", (), ("port",), rho=0.06)
    assert not decide_aggregate(policy, greedy).allowed


def test_aggregate_rho_per_period_and_period_default_month_are_obligations() -> None:
    document = base()
    obligations = decide_aggregate(load(document), INTEL).aggregate
    assert obligations is not None
    assert (obligations.rho_per_period, obligations.period) == (1.0, "month")
    seizures(document)["period"] = "week"
    seizures(document)["rho_per_period"] = 0.5
    obligations = decide_aggregate(load(document), INTEL).aggregate
    assert obligations is not None
    assert (obligations.rho_per_period, obligations.period) == (0.5, "week")


def test_aggregate_rho_values_are_required() -> None:
    document = base()
    del seizures(document)["rho_per_query"]
    del seizures(document)["rho_per_period"]
    prefix = "rules[1].aggregate.datasets.seizures"
    assert {i.path for i in issues_of(dump(document))} == {
        f"{prefix}.rho_per_query",
        f"{prefix}.rho_per_period",
    }


# --- retention, global caps, follow-up ---


def test_retention_days_per_dataset_default_to_none() -> None:
    document = base()
    assert load(document).retention_days("shipments") is None
    document["retention"] = {"shipments": {"max_age_days": 1825}}
    policy = load(document)
    assert policy.retention_days("shipments") == 1825
    assert policy.retention_days("seizures") is None


def test_retention_must_be_at_least_a_day() -> None:
    document = base()
    document["retention"] = {"shipments": {"max_age_days": 0}}
    issue = issues_of(dump(document))[0]
    assert issue.path == "retention.shipments.max_age_days"
    assert "a whole number of 1 or more" in issue.message


def test_global_caps_reach_the_aggregate_obligations_with_period_default_month() -> None:
    document = base()
    obligations = decide_aggregate(load(document), INTEL).aggregate
    assert obligations is not None
    assert (obligations.global_cap_rho, obligations.global_cap_period) == (None, None)
    document["global_caps"] = {"seizures": {"rho": 4.0}}
    policy = load(document)
    assert policy.global_cap("seizures") is not None
    obligations = decide_aggregate(policy, INTEL).aggregate
    assert obligations is not None
    assert (obligations.global_cap_rho, obligations.global_cap_period) == (4.0, "month")


def test_follow_up_is_read_with_deadline_default_48_hours() -> None:
    document = base()
    assert load(document).follow_up is None
    document["follow_up"] = {"contact_point": "Desk, +31 70", "answered_by": "officers"}
    assert load(document).follow_up == FollowUp(
        contact_point="Desk, +31 70", answered_by="officers", deadline_hours=48
    )
    document["follow_up"]["deadline_hours"] = 24
    follow_up = load(document).follow_up
    assert follow_up is not None and follow_up.deadline_hours == 24


def test_disclosing_the_contact_point_needs_a_follow_up_contact_point() -> None:
    document = base()
    match_grant(document)["disclose"] = ["contact_point"]
    issue = issues_of(dump(document))[0]
    assert issue.path == "rules[0].match.disclose"
    assert "no follow_up.contact_point" in issue.message


def test_defaults_are_written_out_in_the_model() -> None:
    policy = Policy.model_validate(
        {
            "policy": 1,
            "node": "customs",
            "rules": (
                {
                    "id": "r",
                    "partners": ("police",),
                    "purposes": ("p",),
                    "match": {
                        "identifier_types": ("phone",),
                        "subject_categories": ("suspect",),
                        "handling_codes": ("H0",),
                    },
                },
            ),
        }
    )
    dumped = policy.model_dump()["rules"][0]["match"]
    assert dumped == {
        "identifier_types": ("phone",),
        "datasets": None,
        "subject_categories": ("suspect",),
        "handling_codes": ("H0",),
        "disclose": (),
        "minors": "hit_only",
        "notify_owner": True,
        "quota_per_day": None,
        "rate_limit_per_minute": None,
    }
