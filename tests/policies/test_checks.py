"""Contradictions: inside the policy (refused at load) and against the federation
(``check_policy``). Each names the line and path to fix."""

from __future__ import annotations

import pytest

from policies import Policy, PolicyIssue, check_policy, load_policy
from tests.policies.builders import MEMBERS, VOCABULARY, issues_of

TEXT = """\
policy: 1
node: customs
purposes:
  organised-crime: {legal_basis: "Directive (EU) 2023/977"}
  strategic-analysis: {legal_basis: "Regulation (EC) No 515/97"}
rules:
  - id: police-match
    partners: [police]
    purposes: [organised-crime]
    match:
      identifier_types: [container, vessel]
      datasets: [shipments]
      subject_categories: [suspect]
      handling_codes: [H0]
  - id: stats
    partners: [intel]
    purposes: [strategic-analysis]
    aggregate:
      datasets:
        seizures:
          columns: [port, month]
          group_by: [[port], [port, month]]
          min_group_size: 5
          rho_per_query: 0.05
          rho_per_period: 1.0
retention:
  shipments: {max_age_days: 1825}
global_caps:
  seizures: {rho: 4.0, period: month}
follow_up: {contact_point: "Desk", answered_by: officers}
"""
DATASETS = ("shipments", "seizures")


def replaced(line: int, text: str) -> str:
    lines = TEXT.splitlines()
    lines[line - 1] = text
    return "\n".join(lines) + "\n"


def check(text: str, datasets: tuple[str, ...] | None = DATASETS) -> list[PolicyIssue]:
    policy = load_policy(text)
    return check_policy(policy, partners=MEMBERS, identifier_types=VOCABULARY, datasets=datasets)


def test_consistent_policy_has_no_issues() -> None:
    assert check(TEXT) == []


@pytest.mark.parametrize(
    ("line", "text", "path", "fragment"),
    [
        (9, "    purposes: [organised-crime, tax]", "rules[0].purposes[1]",
         "purpose 'tax' is not declared under purposes (declared: organised-crime, "
         "strategic-analysis)"),
        (8, "    partners: []", "rules[0].partners",
         "rules[0].partners is empty; list the partner agencies this rule is for (empty never "
         "means everyone)"),
        (9, "    purposes: []", "rules[0].purposes", "rules[0].purposes is empty"),
        (11, "      identifier_types: []", "rules[0].match.identifier_types", "is empty"),
        (12, "      datasets: []", "rules[0].match.datasets", "leave the key out to mean all"),
        (13, "      subject_categories: []", "rules[0].match.subject_categories", "is empty"),
        (14, "      handling_codes: []", "rules[0].match.handling_codes", "is empty"),
        (11, "      identifier_types: [vessel, vessel]", "rules[0].match.identifier_types",
         "lists identifier type 'vessel' 2 times"),
        (8, "    partners: [police, police]", "rules[0].partners",
         "lists partner 'police' 2 times"),
        (21, "          columns: []", "rules[1].aggregate.datasets.seizures.columns", "is empty"),
        (22, "          group_by: [[port], [port, day]]",
         "rules[1].aggregate.datasets.seizures.group_by[1]",
         "group_by column 'day' is not among the columns (port, month)"),
        (23, "          min_group_size: 0", "rules[1].aggregate.datasets.seizures.min_group_size",
         "min_group_size must be 1 or more, got 0"),
        (24, "          rho_per_query: 1.5", "rules[1].aggregate.datasets.seizures.rho_per_query",
         "rho_per_query 1.5 exceeds rho_per_period 1.0"),
        (24, "          rho_per_query: 0", "rules[1].aggregate.datasets.seizures.rho_per_query",
         "rho_per_query must be more than 0, got 0.0"),
        (25, "          rho_per_period: 5.0", "rules[1].aggregate.datasets.seizures.rho_per_period",
         "rho_per_period 5.0 per month exceeds the global cap for 'seizures' (4.0 per month)"),
        (29, "  seizures: {rho: 0}", "global_caps.seizures.rho", "must be more than 0"),
        (4, "  organised-crime: {legal_basis: ' '}", "purposes.organised-crime.legal_basis",
         "must state its legal basis"),
        (30, "follow_up: {contact_point: '', answered_by: officers}", "follow_up.contact_point",
         "must not be empty"),
        (2, "node: ''", "node", "node must name this agency"),
    ],
)  # fmt: skip
def test_contradiction_inside_the_policy_is_refused_at_its_line(
    line: int, text: str, path: str, fragment: str
) -> None:
    issues = issues_of(replaced(line, text))
    found = [i for i in issues if (i.line, i.path) == (line, path)]
    assert found, issues
    assert fragment in found[0].message


AGGREGATE_BODY = TEXT[TEXT.index("      datasets:\n") : TEXT.index("retention:")]


def test_rule_granting_nothing_is_refused_at_the_rule() -> None:
    issues = issues_of(TEXT.replace(AGGREGATE_BODY, "").replace("    aggregate:\n", ""))
    assert [(i.line, i.path) for i in issues] == [(15, "rules[1]")]
    assert issues[0].message == (
        "rule 'stats' grants nothing; give it a match or an aggregate section"
    )


def test_empty_aggregate_datasets_are_refused() -> None:
    issues = issues_of(TEXT.replace(AGGREGATE_BODY, "      datasets: {}\n"))
    assert [(i.line, i.path) for i in issues] == [(19, "rules[1].aggregate.datasets")]
    assert "is empty; name the datasets it grants" in issues[0].message


def test_duplicate_rule_id_is_a_contradiction() -> None:
    issues = issues_of(replaced(15, "  - id: police-match"))
    assert [(i.line, i.path) for i in issues] == [(15, "rules[1].id")]


def test_per_partner_budget_may_exceed_a_shorter_global_cap_period() -> None:
    text = replaced(29, "  seizures: {rho: 0.5, period: day}").replace(
        "rho_per_period: 1.0", "rho_per_period: 1.0\n          period: month"
    )
    assert check(text) == []


def test_per_partner_budget_over_a_longer_cap_period_is_refused() -> None:
    text = replaced(29, "  seizures: {rho: 0.5, period: month}").replace(
        "rho_per_period: 1.0", "rho_per_period: 1.0\n          period: week"
    )
    issue = issues_of(text)[0]
    assert issue.path == "rules[1].aggregate.datasets.seizures.rho_per_period"
    assert "1.0 per week exceeds the global cap for 'seizures' (0.5 per month)" in issue.message


def test_two_budgets_for_one_partner_and_dataset_are_refused() -> None:
    second = TEXT[TEXT.index("  - id: stats") : TEXT.index("retention:")]
    second = second.replace("id: stats", "id: stats-2").replace("1.0", "2.0")
    text = TEXT.replace("retention:", second + "retention:")
    issue = issues_of(text)[0]
    assert (issue.line, issue.path) == (36, "rules[2].aggregate.datasets.seizures.rho_per_period")
    assert "partner 'intel' already has a budget of 1.0 per month on 'seizures'" in issue.message


def test_grant_to_a_partner_outside_the_federation() -> None:
    [issue] = check(replaced(8, "    partners: [police, fiu]"))
    assert (issue.line, issue.path) == (8, "rules[0].partners[1]")
    assert issue.message == (
        "partner 'fiu' is not a member of the federation (members: customs, intel, police)"
    )


def test_partner_typo_gets_a_suggestion() -> None:
    [issue] = check(replaced(8, "    partners: [polise]"))
    assert issue.message.endswith("(did you mean 'police'?)")


def test_identifier_type_outside_the_vocabulary() -> None:
    [issue] = check(replaced(11, "      identifier_types: [container, ship]"))
    assert (issue.line, issue.path) == (11, "rules[0].match.identifier_types[1]")
    assert issue.message.startswith("identifier type 'ship' is not in the vocabulary (known: ")


@pytest.mark.parametrize(
    ("line", "text", "path"),
    [
        (12, "      datasets: [shipments, cargo]", "rules[0].match.datasets[1]"),
        (20, "        cargo:", "rules[1].aggregate.datasets.cargo"),
        (27, "  cargo: {max_age_days: 30}", "retention.cargo"),
        (29, "  cargo: {rho: 4.0}", "global_caps.cargo"),
    ],
)
def test_unknown_dataset_when_datasets_are_given(line: int, text: str, path: str) -> None:
    issues = check(replaced(line, text))
    assert [(i.line, i.path) for i in issues] == [(line, path)]
    assert issues[0].message.startswith("dataset 'cargo' is not a dataset of this node")
    assert check(replaced(line, text), datasets=None) == []


def test_check_policy_reports_contradictions_of_a_policy_built_in_code() -> None:
    policy = Policy.model_validate(
        {
            "policy": 1,
            "node": "customs",
            "rules": (
                {"id": "r", "partners": (), "purposes": ("p",)},
                {"id": "r", "partners": ("police",), "purposes": ("p",)},
            ),
        }
    )
    issues = check_policy(policy, partners=MEMBERS, identifier_types=VOCABULARY)
    messages = [i.message for i in issues]
    assert all(i.line is None for i in issues)
    assert (
        "rules[0].partners is empty; list the partner agencies this rule is for (empty "
        "never means everyone)" in messages
    )
    assert any(m.startswith("duplicate rule id 'r'") for m in messages)
    assert any(m.startswith("purpose 'p' is not declared") for m in messages)
    assert any(m.startswith("rule 'r' grants nothing") for m in messages)


def test_issue_without_a_line_formats_without_one() -> None:
    assert PolicyIssue(None, "rules[0]", "x").format("customs.yaml") == "customs.yaml: rules[0]: x"


DELTA = "          delta_per_query: 1.0e-8\n          delta_per_period: 1.0e-6\n"


def with_delta(delta: str = DELTA, cap: str = "  seizures: {rho: 4.0, period: month}") -> str:
    period = "          rho_per_period: 1.0\n"
    text = TEXT.replace(period, period + delta)
    return text.replace("  seizures: {rho: 4.0, period: month}", cap)


def test_delta_for_key_selection_is_granted_with_both_limits() -> None:
    policy = load_policy(with_delta())
    grant = policy.rules[1].aggregate.datasets["seizures"]  # type: ignore[union-attr]
    assert (grant.delta_per_query, grant.delta_per_period) == (1e-8, 1e-6)
    assert check(with_delta()) == []


@pytest.mark.parametrize(
    ("delta", "cap", "path", "fragment"),
    [
        ("          delta_per_query: 1.0e-8\n", None, "delta_per_period",
         "delta_per_period is missing: name both"),
        ("          delta_per_period: 1.0e-6\n", None, "delta_per_query",
         "delta_per_query is missing: name both"),
        ("          delta_per_query: 1.0e-6\n          delta_per_period: 1.0e-8\n", None,
         "delta_per_query", "delta_per_query 1e-06 exceeds delta_per_period 1e-08"),
        ("          delta_per_query: 0.01\n          delta_per_period: 0.02\n", None,
         "delta_per_query", "delta must be more than 0 and at most 0.0001"),
        ("          delta_per_query: 0\n          delta_per_period: 1.0e-6\n", None,
         "delta_per_query", "delta must be more than 0"),
        (DELTA, "  seizures: {rho: 4.0, period: month, delta: 1.0e-7}", "delta_per_period",
         "delta_per_period 1e-06 per month exceeds the global delta cap for 'seizures' "
         "(1e-07 per month)"),
    ],
)  # fmt: skip
def test_bad_delta_limits_are_refused_naming_the_key(
    delta: str, cap: str | None, path: str, fragment: str
) -> None:
    text = with_delta(delta) if cap is None else with_delta(delta, cap)
    issues = issues_of(text)
    found = [i for i in issues if i.path == f"rules[1].aggregate.datasets.seizures.{path}"]
    assert found, issues
    assert fragment in found[0].message


def test_global_delta_cap_out_of_range_is_refused() -> None:
    issues = issues_of(with_delta(cap="  seizures: {rho: 4.0, delta: 0.5}"))
    assert [i.path for i in issues] == ["global_caps.seizures.delta"]
    assert "at most 0.0001" in issues[0].message
