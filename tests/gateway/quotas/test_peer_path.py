"""Quotas and probing on a running node's peer match endpoint: a partner past its quota gets
429 ``quota_exceeded`` (its node reports "denied"), a probing partner raises one alert and,
as the policy says, is blocked; each refusal and the alert are in the audit log."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from crypto.keys import public_key_from_text
from gateway.audit.store import audit_entries
from gateway.demo.cluster import AgencySetup, Cluster, provision
from gateway.federation.manifest import Manifest, load_manifest
from gateway.node import open_database
from tests.gateway.quotas.peers import ask_all, match_body

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
      quota_per_day: 5
  - id: intel-phones
    partners: [intel]
    purposes: [organised-crime]
    match:
      identifier_types: [phone]
      subject_categories: [suspect]
      handling_codes: [H0]
probing:
  window_minutes: 60
  min_misses: 8
  miss_ratio: 0.9
  block_minutes: 15
"""


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("quotas")
    policy = root / "customs.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    cluster = provision(
        root / "fed",
        [
            AgencySetup("customs", "Customs", policy),
            AgencySetup("police", "Police"),
            AgencySetup("intel", "Intel"),
        ],
    )
    cluster.start(agencies=["customs"])
    try:
        yield cluster
    finally:
        cluster.stop()


def manifest_of(cluster: Cluster, agency: str) -> Manifest:
    config = cluster.nodes[agency].config
    return load_manifest(config.manifest, public_key_from_text(config.authority_public_key))


def ask(cluster: Cluster, agency: str, counts: list[int]) -> list[Any]:
    customs = cluster.nodes["customs"].config
    url = f"https://127.0.0.1:{customs.federation_listener.port}"
    bodies = [match_body("phone", n, customs.query_epoch) for n in counts]
    return ask_all(
        cluster.nodes[agency].config, manifest_of(cluster, agency), "customs", [url], bodies
    )


def audited(cluster: Cluster, agency: str) -> list[dict[str, Any]]:
    engine = open_database(cluster.nodes["customs"].config)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(audit_entries)
                .where(audit_entries.c.requester_agency == agency)
                .order_by(audit_entries.c.seq)
            ).mappings()
            return [dict(row) for row in rows]
    finally:
        engine.dispose()


def test_a_partner_past_its_daily_quota_is_refused_and_that_is_audited(
    running: Cluster, tmp_path: Path
) -> None:
    first, second = ask(running, "police", [3]), ask(running, "police", [3])
    assert first[0].status == "ok"
    assert second[0].status == "denied"
    assert second[0].detail == (
        "quota exceeded: this request's 3 identifier(s) would pass the daily quota of 5; "
        "it renews at 00:00 UTC"
    )
    assert ask(running, "police", [2])[0].status == "ok"  # exactly up to the quota
    entries = [e for e in audited(running, "police") if e["query_type"] == "match"]
    assert [e["decision"] for e in entries] == ["allowed", "denied", "allowed"]
    refused = entries[1]
    assert refused["outcome"]["refused"] == "quota_exceeded"
    assert refused["outcome"]["limit"] == "identifiers per day"
    assert refused["rule_id"] == "police-phones"
    assert refused["policy_version"] == entries[0]["policy_version"] is not None
    assert refused["identifier_types"] == {"phone": 3}


def test_a_probing_partner_raises_one_alert_and_is_blocked(running: Cluster) -> None:
    assert [c.status for c in ask(running, "intel", [4, 3])] == ["ok", "ok"]
    assert not [e for e in audited(running, "intel") if e["query_type"] == "probing-alert"]
    assert ask(running, "intel", [2])[0].status == "ok"  # 9 misses: the alert, then the block
    blocked = ask(running, "intel", [1])[0]
    assert blocked.status == "denied"
    assert "requests from 'intel' are suspended until" in (blocked.detail or "")
    entries = audited(running, "intel")
    [alert] = [e for e in entries if e["query_type"] == "probing-alert"]
    assert (alert["decision"], alert["outcome"]["misses"], alert["outcome"]["checked"]) == (
        "denied",
        9,
        9,
    )
    assert alert["outcome"]["blocked_until"] is not None
    assert entries[-1]["outcome"]["refused"] == "quota_exceeded"
    assert entries[-1]["outcome"]["limit"] == "partner blocked"
