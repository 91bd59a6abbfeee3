"""Reading policy text: every refusal names the line and path of what to fix."""

from __future__ import annotations

import pytest

from policies import PolicyError, PolicyIssue, load_policy
from policies.yaml_lines import MAX_NODES
from tests.policies.builders import dump, issues_of, only_issue

VALID = """\
policy: 1
node: customs
purposes:
  organised-crime: {legal_basis: "Directive (EU) 2023/977"}
rules:
  - id: police-match
    partners: [police]
    purposes: [organised-crime]
    match:
      identifier_types: [container]
      subject_categories: [suspect]
      handling_codes: [H0]
      quota_per_day: 2000
"""


def with_line(line: int, text: str) -> str:
    """VALID with its ``line`` (1-based) replaced by ``text``."""
    lines = VALID.splitlines()
    lines[line - 1] = text
    return "\n".join(lines) + "\n"


def test_valid_text_loads_with_its_source_and_lines() -> None:
    policy = load_policy(VALID, source="customs.yaml")
    assert policy.node == "customs"
    assert policy.source == "customs.yaml"
    assert policy.line_of("rules[0].match.quota_per_day") == 13
    assert policy.line_of("rules[0].partners[0]") == 7


def test_unknown_key_is_refused_with_line_path_and_allowed_keys() -> None:
    issue = only_issue(with_line(13, "      quota: 2000"))
    assert issue.line == 13
    assert issue.path == "rules[0].match.quota"
    assert issue.message.startswith("unknown key 'quota' at rules[0].match; allowed keys: ")
    assert "quota_per_day" in issue.message
    assert "did you mean 'quota_per_day'?" in issue.message


def test_unknown_top_level_key_is_refused() -> None:
    issue = only_issue(VALID + "owner: dpo\n")
    assert (issue.line, issue.path) == (14, "owner")
    assert "unknown key 'owner' at the top level" in issue.message


def test_wrong_type_is_explained_in_plain_words() -> None:
    issue = only_issue(with_line(13, "      quota_per_day: lots"))
    assert issue == PolicyIssue(
        13,
        "rules[0].match.quota_per_day",
        "rules[0].match.quota_per_day must be a whole number of 0 or more, got 'lots'",
    )


@pytest.mark.parametrize(
    ("replacement", "path", "expected"),
    [
        ("      quota_per_day: -1", "rules[0].match.quota_per_day", "a whole number of 0 or more"),
        ("      quota_per_day: 2.5", "rules[0].match.quota_per_day", "a whole number"),
        ("      quota_per_day: true", "rules[0].match.quota_per_day", "got true"),
        ("      notify_owner: maybe", "rules[0].match.notify_owner", "must be true or false"),
        ("      minors: hidden", "rules[0].match.minors", "one of: hit_only, disclose"),
        ("      disclose: [name]", "rules[0].match.disclose[0]", "one of: hit_reference"),
        ("      subject_categories: [kid]", "rules[0].match.subject_categories[0]", "suspect"),
        ("      handling_codes: [H9]", "rules[0].match.handling_codes[0]", "one of: H0, H1"),
        ("    partners: police", "rules[0].partners", "must be a list of names"),
        ("    partners: [police, 7]", "rules[0].partners[1]", "must be text, got 7"),
        ("  - id: police match", "rules[0].id", "no spaces"),
        ("node: [customs]", "node", "node must be text, got a list"),
        ("policy: 2", "policy", "policy must be one of: 1, got 2"),
        (
            "  organised-crime: {legal_basis: 2024-01-01}",
            "purposes.organised-crime.legal_basis",
            "got the date 2024-01-01 (put it in quotes",
        ),
    ],
)
def test_each_wrong_value_names_line_path_and_expectation(
    replacement: str, path: str, expected: str
) -> None:
    key = replacement.split(":")[0].strip()
    lines = VALID.splitlines()
    # Replace the line with the same key, or else the last line (inside rules[0].match).
    line = next((i for i, text in enumerate(lines, 1) if text.split(":")[0].strip() == key), 13)
    issue = only_issue(with_line(line, replacement))
    assert (issue.line, issue.path) == (line, path)
    assert expected in issue.message


def test_value_on_the_next_line_points_at_the_value() -> None:
    text = VALID.replace("      quota_per_day: 2000", "      quota_per_day:\n        - 1")
    issue = only_issue(text)
    assert issue.line == 14
    assert issue.message.endswith("got a list")


def test_missing_required_key_points_at_its_parent() -> None:
    text = VALID.replace("    partners: [police]\n", "")
    issue = only_issue(text)
    assert (issue.line, issue.path) == (6, "rules[0].partners")
    assert issue.message.startswith("missing required key 'partners' at rules[0]")


def test_missing_node_points_at_the_document() -> None:
    issue = only_issue(VALID.replace("node: customs\n", ""))
    assert (issue.line, issue.path) == (1, "node")
    assert "missing required key 'node' at the top level" in issue.message


def test_missing_legal_basis_points_at_the_purpose() -> None:
    issue = only_issue(with_line(4, "  organised-crime: {description: cases}"))
    assert (issue.line, issue.path) == (4, "purposes.organised-crime.legal_basis")


def test_yaml_syntax_error_names_its_line() -> None:
    issue = only_issue(with_line(10, "      identifier_types: [container"))
    assert issue.line is not None and issue.line >= 10
    assert issue.message.startswith("the text is not valid YAML")


def test_tab_indentation_gets_a_hint() -> None:
    issue = only_issue(with_line(10, "\t  identifier_types: [container]"))
    assert issue.line == 10
    assert "not tabs" in issue.message


def test_duplicate_key_is_refused_with_both_lines() -> None:
    issue = only_issue(with_line(3, "node: police\npurposes:"))
    assert (issue.line, issue.path) == (3, "node")
    assert "duplicate key 'node' at the top level (first at line 2)" in issue.message


def test_duplicate_rule_id_is_refused_at_the_second_id() -> None:
    rule = VALID[VALID.index("  - id:") :]
    issue = only_issue(VALID + rule)
    assert (issue.line, issue.path) == (14, "rules[1].id")
    assert "duplicate rule id 'police-match' (also rules[0], line 6)" in issue.message


def test_empty_text_is_refused() -> None:
    assert only_issue("# nothing yet\n") == PolicyIssue(1, "", "the policy is empty")


def test_document_that_is_not_a_mapping_is_refused() -> None:
    issue = only_issue("- policy: 1\n")
    assert issue.message.startswith("the policy must be a mapping with the keys policy, node")


def test_non_text_mapping_key_is_refused() -> None:
    issue = only_issue(VALID + "retention:\n  2024: {max_age_days: 10}\n")
    assert (issue.line, issue.path) == (15, "retention")
    assert "keys must be text, got '2024'" in issue.message


def test_custom_yaml_tags_are_refused() -> None:
    issue = issues_of(with_line(2, "node: !!python/object:os.system customs"))[0]
    assert issue.line == 2
    assert "is not supported" in issue.message


def test_merge_keys_are_refused() -> None:
    issues = issues_of(VALID + "follow_up:\n  <<: {contact_point: x, answered_by: y}\n")
    assert any(i.line == 15 and "merge keys" in i.message for i in issues)


def test_self_referencing_alias_is_refused() -> None:
    issues = issues_of(with_line(7, "    partners: &p [*p]"))
    assert any(i.line == 7 and "refers to itself" in i.message for i in issues)


def test_alias_expansion_is_bounded() -> None:
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 7)]
    issues = issues_of("\n".join(levels) + "\n")
    assert any("too much data" in i.message for i in issues)
    assert MAX_NODES < 10**7


def test_several_problems_are_all_reported_in_line_order() -> None:
    text = with_line(13, "      quota_per_day: lots").replace("node: customs", "node: 1")
    issues = issues_of(text)
    assert [(i.line, i.path) for i in issues] == [(2, "node"), (13, "rules[0].match.quota_per_day")]


def test_error_text_lists_issues_as_source_line_path_message() -> None:
    text = with_line(13, "      quota_per_day: lots").replace("node: customs", "node: 1")
    with pytest.raises(PolicyError) as caught:
        load_policy(text, source="customs.yaml")
    assert str(caught.value).splitlines() == [
        "customs.yaml:2: node: node must be text, got 1",
        "customs.yaml:13: rules[0].match.quota_per_day: rules[0].match.quota_per_day must be a "
        "whole number of 0 or more, got 'lots'",
    ]


def test_contradictions_are_refused_at_load() -> None:
    issue = only_issue(with_line(8, "    purposes: [tax]"))
    assert (issue.line, issue.path) == (8, "rules[0].purposes[0]")
    assert "purpose 'tax' is not declared under purposes" in issue.message


def test_yaml_booleans_are_not_silently_text() -> None:
    issue = only_issue(with_line(7, "    partners: [yes]"))
    assert issue.message == "rules[0].partners[0] must be text, got true"


def test_round_trip_through_dump_loads() -> None:
    policy = load_policy(VALID)
    assert load_policy(dump(policy.model_dump(mode="json"))).version_hash == policy.version_hash


@pytest.mark.parametrize("depth", [40, 5000])
def test_deep_nesting_is_refused_not_crashed(depth: int) -> None:
    issues = issues_of("node: " + "[" * depth + "]" * depth + "\n")
    assert any("nested too deeply" in issue.message for issue in issues)
