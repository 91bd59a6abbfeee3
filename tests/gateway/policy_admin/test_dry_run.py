"""Dry-run figures on a recorded audit history: each audited peer request is decided by the
version that decided it and by the proposed policy, and the differences are counted by
partner and query type."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gateway.audit.schemas import AuditEvent
from gateway.demo.cluster import Cluster
from gateway.errors import BadRequest
from gateway.node import Node, build_node
from gateway.policy_admin.service import InvalidPolicy
from tests.gateway.policy_admin.conftest import FIRST

T0 = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)

# v2: police may also match containers, and for smuggling too.
V2 = (
    FIRST.replace("identifier_types: [phone]", "identifier_types: [phone, container]")
    .replace(
        "purposes: [organised-crime]\n    match",
        "purposes: [organised-crime, smuggling]\n    match",
    )
    .replace(
        'organised-crime: {legal_basis: "test basis"}',
        'organised-crime: {legal_basis: "test basis"}\n  smuggling: {legal_basis: "basis"}',
    )
)

# Proposed: containers move to their own rule (first), smuggling is dropped again, and intel
# gets seizure statistics.
PROPOSED = """
policy: 1
node: customs
purposes:
  organised-crime: {legal_basis: "test basis"}
  strategic-analysis: {legal_basis: "statistics basis"}
rules:
  - id: police-containers
    partners: [police]
    purposes: [organised-crime]
    match:
      identifier_types: [container]
      subject_categories: [suspect]
      handling_codes: [H0]
  - id: police-phones
    partners: [police]
    purposes: [organised-crime]
    match:
      identifier_types: [phone]
      subject_categories: [suspect]
      handling_codes: [H0, H1]
      quota_per_day: 100
  - id: intel-seizures
    partners: [police]
    purposes: [strategic-analysis]
    aggregate:
      datasets:
        seizures:
          columns: [port]
          group_by: [[port]]
          rho_per_query: 0.1
          rho_per_period: 1.0
"""


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clocked(cluster: Cluster) -> Iterator[tuple[Node, Clock]]:
    clock = Clock(T0)
    node = build_node(cluster.nodes["customs"].config, clock=clock)
    try:
        yield node, clock
    finally:
        node.close()


def peer(
    node: Node,
    at: datetime,
    partner: str,
    purpose: str | None,
    types: dict[str, int],
    version: str | None,
    *,
    query_type: str = "match",
    outcome: dict[str, Any] | None = None,
) -> None:
    node.audit.append(
        AuditEvent(
            channel="peer",
            requester_agency=partner,
            requester_user="analyst",
            query_type=query_type,
            decision="allowed",
            recorded_at=at,
            purpose=purpose,
            identifier_types=types,
            policy_version=version,
            outcome=outcome or {},
        )
    )


def record_history(node: Node, clock: Clock) -> None:
    v1 = node.policy_admin.current().version_hash
    hour = timedelta(hours=1)
    peer(node, T0 - timedelta(days=40), "police", "organised-crime", {"container": 9}, v1)
    peer(node, T0 + hour, "police", "organised-crime", {"phone": 3}, v1)
    peer(node, T0 + 2 * hour, "police", "organised-crime", {"phone": 2, "container": 1}, v1)
    peer(node, T0 + 3 * hour, "police", "organised-crime", {"container": 4}, None)
    peer(node, T0 + 4 * hour, "police", "smuggling", {"phone": 1}, v1)
    peer(node, T0 + 5 * hour, "intel", "organised-crime", {"container": 2}, v1)
    peer(node, T0 + 6 * hour, "police", None, {}, None, outcome={"refused": "replayed"})
    peer(node, T0 + 7 * hour, "police", "organised-crime", {"phone": 1}, "f" * 64)
    aggregate = {"dataset": "seizures", "template": "count", "group_by": ["port"]}
    peer(
        node,
        T0 + 8 * hour,
        "police",
        "strategic-analysis",
        {},
        None,
        query_type="aggregate",
        outcome={**aggregate, "rho_asked": 0.05},
    )
    peer(
        node,
        T0 + 9 * hour,
        "police",
        "strategic-analysis",
        {},
        None,
        query_type="aggregate",
        outcome=aggregate,
    )
    clock.now = T0 + timedelta(days=2)
    v2 = node.policy_admin.apply(V2, author="dpo", reason="containers, smuggling").version_hash
    day3 = T0 + timedelta(days=3)
    peer(node, day3, "police", "organised-crime", {"container": 5}, v2)
    peer(node, day3 + hour, "police", "smuggling", {"phone": 2}, v2)
    clock.now = T0 + timedelta(days=5)


def test_dry_run_counts_the_decisions_that_would_change(
    clocked: tuple[Node, Clock],
) -> None:
    node, clock = clocked
    record_history(node, clock)
    report = node.policy_admin.dry_run(PROPOSED, days=30, examples=10)
    figures = {
        (g.partner, g.query_type): (
            g.requests,
            g.changed,
            g.newly_allowed,
            g.newly_denied,
            g.rule_changed,
            g.identifiers_newly_allowed,
            g.identifiers_newly_denied,
        )
        for g in report.groups
    }
    assert figures == {
        ("intel", "match"): (1, 0, 0, 0, 0, 0, 0),
        ("police", "aggregate"): (1, 1, 1, 0, 0, 0, 0),
        ("police", "match"): (6, 4, 2, 1, 1, 5, 2),
    }
    assert (report.replayed, report.changed) == (8, 5)
    assert report.skipped == {
        "no purpose recorded (refused before the policy was asked)": 1,
        "no stored policy version decided it": 1,
        "aggregate entry without dataset or rho": 1,
    }
    assert report.since == clock.now - timedelta(days=30)
    newest = report.examples[0]
    assert (newest.partner, newest.purpose, newest.subject) == ("police", "smuggling", "phone")
    assert newest.before == "allowed phone by 'police-phones'"
    assert newest.after == "denied"
    assert [e.subject for e in report.examples] == [
        "phone",
        "container",
        "seizures",
        "container",
        "container, phone",
    ]
    rule_moved = report.examples[1]
    assert rule_moved.before == "allowed container by 'police-phones'"
    assert rule_moved.after == "allowed container by 'police-containers'"


def test_a_shorter_window_replays_only_recent_entries(clocked: tuple[Node, Clock]) -> None:
    node, clock = clocked
    record_history(node, clock)
    report = node.policy_admin.dry_run(PROPOSED, days=3)
    assert report.replayed == 2
    assert report.changed == 2


def test_dry_run_of_the_version_in_force_changes_nothing(clocked: tuple[Node, Clock]) -> None:
    node, clock = clocked
    record_history(node, clock)
    report = node.policy_admin.dry_run(V2, days=30)
    # Entries decided by v1 that v2 decides differently still show; v2's own do not.
    assert all(e.recorded_at < T0 + timedelta(days=2) for e in report.examples)


def test_dry_run_refuses_an_invalid_policy_and_a_bad_window(node: Node) -> None:
    with pytest.raises(InvalidPolicy, match="unknown key 'rulez'"):
        node.policy_admin.dry_run(FIRST.replace("rules:", "rulez:"))
    with pytest.raises(BadRequest, match="days must be between 1 and 366, got 0"):
        node.policy_admin.dry_run(FIRST, days=0)
