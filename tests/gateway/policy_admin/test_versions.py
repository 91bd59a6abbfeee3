"""Policy versions: the first comes from the file, every later one is applied with an author
and a reason, each change is audited, and every process sharing the database uses the latest."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.demo.cluster import Cluster
from gateway.errors import BadRequest, ConfigError, NotFound
from gateway.node import Node, build_node
from gateway.policy_admin.service import InvalidPolicy
from policies import load_policy
from tests.gateway.policy_admin.conftest import FIRST, SECOND


def admin_entries(node: Node) -> list[dict[str, Any]]:
    return [e for e in node.audit.recent(100) if e["channel"] == "admin"]


def test_the_policy_file_becomes_version_1_and_that_is_audited(node: Node) -> None:
    [first] = node.policy_admin.history()
    assert (first.number, first.action, first.author) == (1, "initial", "policy file")
    assert first.text == FIRST
    assert first.version_hash == load_policy(FIRST).version_hash
    [entry] = admin_entries(node)
    assert entry["query_type"] == "policy-apply"
    assert entry["policy_version"] == first.version_hash
    assert entry["outcome"]["version"] == 1


def test_apply_keeps_author_time_and_reason_and_audits_the_change(node: Node) -> None:
    version = node.policy_admin.apply(SECOND, author="dpo.anna", reason="containers for police")
    assert (version.number, version.action, version.author) == (2, "apply", "dpo.anna")
    assert version.reason == "containers for police"
    assert node.policy_admin.version("v2").text == SECOND
    entry = admin_entries(node)[0]
    assert entry["requester_user"] == "dpo.anna"
    assert entry["policy_version"] == version.version_hash
    assert entry["outcome"]["previous_version"] == 1
    assert entry["outcome"]["reason"] == "containers for police"
    assert entry["outcome"]["changes"] == 1


def test_every_node_sharing_the_database_decides_with_the_latest_version(
    node: Node, cluster: Cluster
) -> None:
    other = build_node(cluster.nodes["customs"].config)  # as a second process would
    try:
        before = other.policy.current().version_hash
        applied = node.policy_admin.apply(SECOND, author="dpo", reason="widen")
        assert before != applied.version_hash
        assert other.policy.current().version_hash == applied.version_hash
        assert other.policy.current_number() == 2
    finally:
        other.close()


def test_a_policy_meaning_the_same_as_the_version_in_force_is_not_applied(node: Node) -> None:
    reformatted = FIRST.replace("handling_codes: [H0, H1]", "handling_codes: [H1, H0]")
    with pytest.raises(BadRequest, match=r"nothing to apply: .* means the same as v1"):
        node.policy_admin.apply(reformatted, author="dpo", reason="reorder")
    assert len(node.policy_admin.history()) == 1


def test_an_invalid_policy_is_refused_with_its_lines_and_the_refusal_is_audited(
    node: Node,
) -> None:
    broken = FIRST.replace("quota_per_day: 100", "quota_per_day: lots")
    with pytest.raises(InvalidPolicy) as refused:
        node.policy_admin.apply(broken, author="dpo", reason="typo", source="new.yaml")
    assert "new.yaml:14: rules[0].match.quota_per_day" in refused.value.detail
    assert "whole number" in refused.value.detail
    entry = admin_entries(node)[0]
    assert (entry["query_type"], entry["decision"]) == ("policy-apply", "failed")
    assert len(node.policy_admin.history()) == 1


def test_a_partner_outside_the_federation_is_refused(node: Node) -> None:
    with pytest.raises(InvalidPolicy, match="partner 'intel' is not a member"):
        node.policy_admin.apply(
            FIRST.replace("partners: [police]", "partners: [police, intel]"),
            author="dpo",
            reason="add intel",
        )


def test_a_policy_for_another_node_is_refused(node: Node) -> None:
    with pytest.raises(InvalidPolicy, match="written for node 'police'"):
        node.policy_admin.apply(
            FIRST.replace("node: customs", "node: police"), author="dpo", reason="x"
        )


def test_rollback_puts_an_earlier_text_back_in_force_as_a_new_version(node: Node) -> None:
    node.policy_admin.apply(SECOND, author="dpo", reason="widen")
    restored = node.policy_admin.rollback("v1", author="dpo.bert", reason="too wide")
    assert (restored.number, restored.action, restored.restores) == (3, "rollback", 1)
    assert restored.text == FIRST
    assert node.policy.current().version_hash == load_policy(FIRST).version_hash
    entry = admin_entries(node)[0]
    assert entry["query_type"] == "policy-rollback"
    assert entry["outcome"]["restores"] == 1


def test_rolling_back_to_what_is_in_force_is_refused(node: Node) -> None:
    with pytest.raises(BadRequest, match="v1 means the same as v1 in force"):
        node.policy_admin.rollback("1", author="dpo", reason="x")


def test_versions_are_found_by_number_or_hash_prefix_and_unknown_ones_are_named(
    node: Node,
) -> None:
    first = node.policy_admin.current()
    assert node.policy_admin.version(first.version_hash[:8]).number == 1
    assert node.policy_admin.version("V1").number == 1
    with pytest.raises(NotFound, match="no policy version 'v7'; versions run from v1 to v1"):
        node.policy_admin.version("v7")
    with pytest.raises(BadRequest, match="not a policy version: give its number"):
        node.policy_admin.version("latest")
    with pytest.raises(NotFound, match="no policy version has a hash starting 'abcdef0'"):
        node.policy_admin.version("abcdef0")


def test_a_change_reviewed_against_an_older_version_is_not_applied_over_a_newer_one(
    node: Node,
) -> None:
    node.policy_admin.apply(SECOND, author="dpo.a", reason="widen")
    with pytest.raises(BadRequest, match="v2 is in force now, not v1"):
        node.policy_admin.apply(
            FIRST.replace("100", "50"), author="dpo.b", reason="lower", base_version=1
        )


@pytest.mark.parametrize(
    ("author", "reason", "message"),
    [("", "why", "author must be named"), ("dpo", "  ", "a reason is required")],
)
def test_a_change_needs_an_author_and_a_reason(
    node: Node, author: str, reason: str, message: str
) -> None:
    with pytest.raises(BadRequest, match=message):
        node.policy_admin.apply(SECOND, author=author, reason=reason)


def test_an_edited_policy_file_is_not_applied_on_restart(node: Node, cluster: Cluster) -> None:
    config = cluster.nodes["customs"].config
    config.policy.write_text(SECOND, encoding="utf-8")
    restarted = build_node(config)
    try:
        assert restarted.policy.current_number() == 1
        assert restarted.policy.file_differs()
    finally:
        restarted.close()


def test_a_stored_version_that_no_longer_fits_the_node_stops_it_at_start(
    node: Node, cluster: Cluster
) -> None:
    unfit = FIRST.replace("partners: [police]", "partners: [intel]")
    node.policy.store.append(
        expected_latest=1,
        version_hash=load_policy(unfit).version_hash,
        text=unfit,
        author="someone",
        reason="written straight to the database",
        action="apply",
        restores=None,
        applied_at=node.clock(),
    )
    with pytest.raises(ConfigError, match=r"policy v2 in force does not fit(.|\n)*intel"):
        build_node(cluster.nodes["customs"].config)
    with pytest.raises(ConfigError, match="cordon policy apply"):
        node.policy.current()
    # The DPO can still put a fitting version in force.
    assert node.policy_admin.apply(SECOND, author="dpo", reason="fix").number == 3
