"""The parsed policy: its version hash and accessors."""

from __future__ import annotations

import hashlib
import json

import pytest
from pydantic import ValidationError

from policies import load_policy

TEXT = """\
policy: 1
node: customs
purposes:
  organised-crime: {legal_basis: "Directive (EU) 2023/977"}
rules:
  - id: police-match
    partners: [police, intel]
    purposes: [organised-crime]
    match:
      identifier_types: [container, vessel]
      subject_categories: [suspect]
      handling_codes: [H0]
retention:
  shipments: {max_age_days: 1825}
"""

REFORMATTED = """\
# The customs policy, written differently: comments, key order, block/flow style, defaults.
node: customs          # this node
policy: 1

retention:
  shipments:
    max_age_days: 1825
rules:
- match:
    handling_codes:
    - H0
    subject_categories: [suspect]
    identifier_types: [vessel, container]
    minors: hit_only
    notify_owner: true
  purposes: [organised-crime]
  partners: [intel, police]
  id: police-match
purposes:
  organised-crime:
    description: ""
    legal_basis: Directive (EU) 2023/977
"""


def test_version_hash_is_sha256_of_the_canonical_json() -> None:
    policy = load_policy(TEXT)
    canonical = json.dumps(policy.canonical(), sort_keys=True, separators=(",", ":"))
    assert policy.version_hash == hashlib.sha256(canonical.encode()).hexdigest()
    assert len(policy.version_hash) == 64


def test_version_hash_is_stable_across_formatting_comments_order_and_defaults() -> None:
    assert load_policy(REFORMATTED).version_hash == load_policy(TEXT).version_hash


def test_version_hash_changes_when_content_changes() -> None:
    original = load_policy(TEXT).version_hash
    for old, new in [
        ("max_age_days: 1825", "max_age_days: 1826"),
        ("[police, intel]", "[police]"),
        ("handling_codes: [H0]", "handling_codes: [H0]\n      notify_owner: false"),
        ("Directive (EU) 2023/977", "Directive (EU) 2023/978"),
    ]:
        assert load_policy(TEXT.replace(old, new)).version_hash != original, new


def test_rule_order_changes_the_version_hash() -> None:
    second = TEXT[TEXT.index("  - id:") : TEXT.index("retention:")].replace("police-match", "b")
    one = TEXT.replace("retention:", second + "retention:")
    rules_start, rules_end = one.index("  - id:"), one.index("retention:")
    first, last = one[rules_start:rules_end].split("  - id: b")
    swapped = one[:rules_start] + "  - id: b" + last + first + one[rules_end:]
    assert load_policy(swapped).version_hash != load_policy(one).version_hash


def test_canonical_form_sorts_unordered_lists_but_keeps_rule_order() -> None:
    canonical = load_policy(TEXT).canonical()
    assert canonical["rules"][0]["partners"] == ["intel", "police"]
    assert canonical["rules"][0]["match"]["identifier_types"] == ["container", "vessel"]


def test_rule_lookup_and_line_of() -> None:
    policy = load_policy(TEXT)
    assert policy.rule("police-match") is policy.rules[0]
    assert policy.rule("nope") is None
    assert policy.line_of("rules[0].match.handling_codes") == 12
    assert policy.line_of("rules[0].match.no_such_key") == 9
    assert policy.line_of("retention.shipments") == 14


def test_policy_is_immutable() -> None:
    policy = load_policy(TEXT)
    with pytest.raises(ValidationError, match="frozen"):
        policy.node = "police"
    assert policy.node == "customs"


def test_copy_with_changes_gets_a_fresh_version_hash() -> None:
    policy = load_policy(TEXT)
    original = policy.version_hash
    changed = policy.model_copy(update={"node": "police"})
    assert changed.version_hash != original
    assert policy.model_copy().version_hash == original
