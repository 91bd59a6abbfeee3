"""Hot reload: a version applied while the nodes run (through the CLI, a separate process, or
the admin API) decides the very next peer request, and that request's audit entry names it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from gateway.audit.store import audit_entries
from gateway.cli.main import app
from gateway.demo.cluster import Cluster
from gateway.node import open_database, utc_now
from gateway.users.store import TokenStore
from policies import load_policy
from tests.gateway.policy_admin.conftest import FIRST, SECOND

CONTAINER = "CSQU 305438 3"


@pytest.fixture
def running(cluster: Cluster) -> Iterator[Cluster]:
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


def search_container(cluster: Cluster) -> str:
    body = {
        "purpose": "organised-crime",
        "case_reference": "CASE-7",
        "identifiers": [{"type": "container", "value": CONTAINER}],
    }
    with cluster.nodes["police"].client() as client:
        response = client.post("/api/v1/search", json=body)
    assert response.status_code == 200, response.text
    outcome: str = response.json()["results"][0]["peers"]["customs"]["outcome"]
    return outcome


def last_peer_match(cluster: Cluster) -> dict[str, Any]:
    engine = open_database(cluster.nodes["customs"].config)
    try:
        with engine.connect() as conn:
            row = (
                conn.execute(
                    select(audit_entries)
                    .where(audit_entries.c.channel == "peer", audit_entries.c.query_type == "match")
                    .order_by(audit_entries.c.seq.desc())
                    .limit(1)
                )
                .mappings()
                .one()
            )
        return dict(row)
    finally:
        engine.dispose()


def test_a_version_applied_with_the_cli_decides_the_next_request(
    running: Cluster, tmp_path: Path
) -> None:
    assert search_container(running) == "denied"
    assert last_peer_match(running)["policy_version"] == load_policy(FIRST).version_hash
    proposed = tmp_path / "proposed.yaml"
    proposed.write_text(SECOND, encoding="utf-8")
    config = str(running.nodes["customs"].config_path)
    result = CliRunner().invoke(
        app,
        [
            "policy",
            "apply",
            str(proposed),
            "--author",
            "dpo.anna",
            "--reason",
            "containers for police",
            "--config",
            config,
        ],
    )
    assert result.exit_code == 0, result.output
    assert "applied v2" in result.output
    assert search_container(running) == "no_hit"
    entry = last_peer_match(running)
    assert entry["policy_version"] == load_policy(SECOND).version_hash
    assert entry["rule_id"] == "police-phones"


def test_a_version_applied_through_the_admin_api_decides_the_next_request(
    running: Cluster,
) -> None:
    customs = running.nodes["customs"]
    engine = open_database(customs.config)
    try:
        dpo = TokenStore(engine).issue("dpo.anna", "dpo", utc_now()).token
    finally:
        engine.dispose()
    with customs.client() as client:
        headers = {"Authorization": f"Bearer {dpo}"}
        applied = client.post(
            "/api/v1/policy/apply",
            json={"text": SECOND, "reason": "containers for police", "base_version": 1},
            headers=headers,
        )
        assert applied.status_code == 200, applied.text
        assert applied.json()["author"] == "dpo.anna"
    assert search_container(running) == "no_hit"
    assert last_peer_match(running)["policy_version"] == applied.json()["version_hash"]
    with customs.client() as client:
        rolled = client.post(
            "/api/v1/policy/rollback",
            json={"version": "v1", "reason": "undo"},
            headers=headers,
        )
        assert rolled.status_code == 200, rolled.text
    assert search_container(running) == "denied"
