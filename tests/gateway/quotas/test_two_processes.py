"""Quotas and rate limits hold across two server processes of one node sharing a PostgreSQL
database: partners' concurrent requests, spread over both, never get past a limit."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator

import pytest
import yaml
from sqlalchemy import func, select

from gateway.audit.store import audit_entries
from gateway.config import load_node_config
from gateway.demo.cluster import AgencySetup, Cluster, ClusterNode, free_port, provision
from gateway.node import open_database
from tests.gateway.quotas.peers import ask_all, match_body
from tests.gateway.quotas.test_peer_path import manifest_of

POLICY = """
policy: 1
node: customs
purposes:
  organised-crime: {legal_basis: "basis"}
rules:
  - id: police-phones
    partners: [police]
    purposes: [organised-crime]
    match:
      identifier_types: [phone]
      subject_categories: [suspect]
      handling_codes: [H0]
      quota_per_day: 40
  - id: intel-phones
    partners: [intel]
    purposes: [organised-crime]
    match:
      identifier_types: [phone]
      subject_categories: [suspect]
      handling_codes: [H0]
      rate_limit_per_minute: 10
"""

pytestmark = pytest.mark.postgres


@pytest.fixture
def two_processes(tmp_path_factory: pytest.TempPathFactory, postgres_url: str) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("two-processes")
    policy = root / "customs.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    cluster = provision(
        root / "fed",
        [
            AgencySetup("customs", "Customs", policy, database=postgres_url),
            AgencySetup("police", "Police"),
            AgencySetup("intel", "Intel"),
        ],
    )
    # A second process of the same node: same keys, policy and database, other ports.
    first = cluster.nodes["customs"].config_path
    doc = yaml.safe_load(first.read_text())
    doc["listen"] = {
        "federation": {"host": "127.0.0.1", "port": free_port()},
        "local": {"host": "127.0.0.1", "port": free_port()},
    }
    second = first.with_name("node-b.yaml")
    second.write_text(yaml.safe_dump(doc))
    cluster.nodes["customs-b"] = ClusterNode("customs", second, load_node_config(second))
    cluster.start(agencies=["customs", "customs-b"])
    try:
        yield cluster
    finally:
        cluster.stop()


def ask_both(cluster: Cluster, agency: str, requests: int) -> Counter[str]:
    urls = [
        f"https://127.0.0.1:{cluster.nodes[name].config.federation_listener.port}"
        for name in ("customs", "customs-b")
    ]
    epoch = cluster.nodes["customs"].config.query_epoch
    calls = ask_all(
        cluster.nodes[agency].config,
        manifest_of(cluster, agency),
        "customs",
        urls,
        [match_body("phone", 1, epoch) for _ in range(requests)],
    )
    return Counter(call.status for call in calls)


def test_the_daily_quota_holds_across_two_processes(two_processes: Cluster) -> None:
    assert ask_both(two_processes, "police", 100) == Counter({"ok": 40, "denied": 60})
    assert ask_both(two_processes, "police", 4) == Counter({"denied": 4})
    engine = open_database(two_processes.nodes["customs"].config)
    try:
        with engine.connect() as conn:
            decisions: dict[str, int] = dict(
                conn.execute(
                    select(audit_entries.c.decision, func.count())
                    .where(audit_entries.c.requester_agency == "police")
                    .group_by(audit_entries.c.decision)
                ).all()
            )
    finally:
        engine.dispose()
    assert decisions == {"allowed": 40, "denied": 64}


def test_the_rate_limit_holds_across_two_processes(two_processes: Cluster) -> None:
    if time.time() % 60 > 45:  # keep the burst inside one clock minute
        time.sleep(61 - time.time() % 60)
    assert ask_both(two_processes, "intel", 30) == Counter({"ok": 10, "denied": 20})
