"""Explanations name the deciding rule and why every other rule did not apply."""

from __future__ import annotations

from policies import AggregateRequest, MatchRequest, Policy, RuleOutcome, explain
from tests.policies.builders import base, load


def policy_with_three_rules() -> Policy:
    document = base()
    document["rules"].append(
        {
            "id": "intel-match",
            "partners": ["intel"],
            "purposes": ["organised-crime"],
            "match": {
                "identifier_types": ["container", "vessel"],
                "subject_categories": ["suspect"],
                "handling_codes": ["H0"],
            },
        }
    )
    return load(document)


def test_match_explanation_names_the_deciding_rule_and_why_others_did_not_apply() -> None:
    request = MatchRequest("intel", "organised-crime", ("container", "iban"))
    explanation = explain(policy_with_three_rules(), request)
    assert explanation.decision.rule_id == "intel-match"
    assert explanation.outcomes == [
        RuleOutcome(
            "police-match",
            False,
            [
                "partner 'intel' is not listed (rule lists: police)",
                "identifier type 'iban' not granted (grants: container, vessel)",
            ],
        ),
        RuleOutcome(
            "intel-aggregates",
            False,
            [
                "purpose 'organised-crime' not granted (rule grants: strategic-analysis)",
                "rule grants no matching",
            ],
        ),
        RuleOutcome(
            "intel-match",
            True,
            [
                "grants identifier types container",
                "identifier type 'iban' not granted (grants: container, vessel)",
            ],
        ),
    ]


def test_denied_match_explains_every_rule() -> None:
    request = MatchRequest("fiu", "tax", ("iban",))
    explanation = explain(policy_with_three_rules(), request)
    assert not explanation.decision.allowed
    assert not any(outcome.applied for outcome in explanation.outcomes)
    assert explanation.outcomes[0].reasons[:2] == [
        "partner 'fiu' is not listed (rule lists: police)",
        "purpose 'tax' not granted (rule grants: organised-crime)",
    ]


def test_shadowed_rule_says_an_earlier_rule_decided() -> None:
    document = base()
    document["rules"][1] = dict(document["rules"][0], id="police-later")
    policy = load(document)
    explanation = explain(policy, MatchRequest("police", "organised-crime", ("vessel",)))
    assert explanation.outcomes[1] == RuleOutcome(
        "police-later",
        False,
        ["identifier type 'vessel' is already decided by earlier rule 'police-match'"],
    )


def test_aggregate_explanation_gives_each_failed_condition() -> None:
    request = AggregateRequest(
        "intel", "strategic-analysis", "seizures", ("value",), ("month", "port", "value"), 0.5
    )
    explanation = explain(load(base()), request)
    assert not explanation.decision.allowed
    assert explanation.outcomes[1] == RuleOutcome(
        "intel-aggregates",
        False,
        [
            "column 'value' not allowed (allows: port, month, quantity_kg)",
            "group_by [month, port, value] not allowed (allows: [port]; [port, month]; "
            "overall totals)",
            "rho 0.5 exceeds rho_per_query 0.05",
        ],
    )
    assert explanation.outcomes[0].reasons[-1] == "rule grants no aggregates"


def test_aggregate_explanation_marks_the_deciding_rule() -> None:
    request = AggregateRequest("intel", "strategic-analysis", "seizures", (), ("port",), 0.05)
    explanation = explain(load(base()), request)
    assert explanation.outcomes[1] == RuleOutcome(
        "intel-aggregates", True, ["allows this aggregate on 'seizures'"]
    )


def test_text_rendering_for_the_command_line() -> None:
    policy = policy_with_three_rules()
    request = MatchRequest("intel", "organised-crime", ("container", "iban"))
    text = explain(policy, request).to_text()
    lines = text.splitlines()
    assert lines[0] == (
        "Match request: partner 'intel', purpose 'organised-crime', identifier types "
        "container, iban"
    )
    assert lines[1].startswith("Decision: ALLOWED: rule 'intel-match' allows partner 'intel'")
    assert f"Policy version: {policy.version_hash}" in lines
    assert (
        "  [skipped] police-match: partner 'intel' is not listed (rule lists: police); "
        "identifier type 'iban' not granted (grants: container, vessel)" in lines
    )
    assert (
        "  [applied] intel-match: grants identifier types container; identifier type "
        "'iban' not granted (grants: container, vessel)" in lines
    )


def test_text_rendering_of_a_denied_aggregate() -> None:
    request = AggregateRequest("police", "strategic-analysis", "seizures", (), (), 0.05)
    text = explain(load(base()), request).to_text()
    assert "Decision: DENIED: no rule allows partner 'police' this aggregate" in text
    assert "group by overall totals" in text


def test_allowed_aggregate_text_states_the_delta_for_key_selection() -> None:
    request = AggregateRequest("intel", "strategic-analysis", "seizures", (), ("port",), 0.05)
    document = base()
    plain = explain(load(document), request).to_text()
    assert "  Key selection by DP threshold: not granted (public keys only)" in plain
    for rule in document["rules"]:
        grant = (rule.get("aggregate") or {}).get("datasets", {}).get("seizures")
        if grant is not None:
            grant.update({"delta_per_query": 1e-8, "delta_per_period": 1e-6})
    granted = explain(load(document), request).to_text()
    assert "  Key selection by DP threshold: delta 1e-08 per query, 1e-06 per month" in granted
