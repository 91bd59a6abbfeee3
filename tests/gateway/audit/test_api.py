"""The auditor's API and CLI on real nodes over real TLS: role checks, search, summary,
export verified offline by the CLI, checkpoints on a timer, proofs, and witnessing between
the nodes (cosignatures travel back to the log's owner)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from gateway.audit.checkpoints import audit_checkpoints, audit_cosignatures
from gateway.demo.cluster import Cluster
from tests.gateway.audit.cluster import audit_cluster, client, wait_for, witness_view

ROOT = Path(__file__).resolve().parents[3]
PHONE = "+31 6 1234 5678"
ROUTES = [
    ("GET", "/api/v1/audit/entries"),
    ("GET", "/api/v1/audit/summary"),
    ("GET", "/api/v1/audit/export"),
    ("GET", "/api/v1/audit/checkpoint"),
    ("POST", "/api/v1/audit/checkpoint"),
    ("GET", "/api/v1/audit/proof/consistency?old_size=0&new_size=0"),
    ("GET", "/api/v1/audit/witness"),
]


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cluster, dict[str, str]]]:
    cluster, tokens = audit_cluster(
        tmp_path_factory.mktemp("audit-api") / "n", ["customs", "police"]
    )
    cluster.start()
    try:
        with cluster.nodes["customs"].client() as c:
            body = {
                "purpose": "organised-crime",
                "case_reference": "CASE-7",
                "identifiers": [{"type": "phone", "value": PHONE}],
            }
            assert c.post("/api/v1/search", json=body).status_code == 200
        yield cluster, tokens
    finally:
        cluster.stop()


def cordon(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli.main", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_auditor_routes_answer_only_auditors(
    nodes: tuple[Cluster, dict[str, str]], method: str, path: str
) -> None:
    cluster, tokens = nodes
    police = cluster.nodes["police"]
    with client(police, None) as anonymous:
        assert anonymous.request(method, path).status_code == 401
    with client(police, police.analyst_token) as analyst:
        assert analyst.request(method, path).status_code == 403
    with client(police, tokens["police"]) as auditor:
        assert auditor.request(method, path).status_code == 200


def test_the_federation_listener_does_not_serve_auditor_routes(
    nodes: tuple[Cluster, dict[str, str]],
) -> None:
    cluster, tokens = nodes
    with client(cluster.nodes["police"], tokens["police"]) as c:
        assert c.post("/peer/v1/audit/checkpoint", content=b"{}").status_code == 404


def test_an_auditor_finds_the_partners_request_without_any_raw_identifier(
    nodes: tuple[Cluster, dict[str, str]],
) -> None:
    cluster, tokens = nodes
    with client(cluster.nodes["police"], tokens["police"]) as c:
        answer = c.get(
            "/api/v1/audit/entries", params={"partner": "customs", "case_reference": "CASE-7"}
        )
    entries = answer.json()["entries"]
    assert [e["query_type"] for e in entries] == ["match"]
    assert entries[0]["channel"] == "peer" and entries[0]["identifier_types"] == {"phone": 1}
    for raw in ("1234 5678", "12345678"):
        assert raw not in answer.text


def test_the_summary_shows_the_partners_queries(nodes: tuple[Cluster, dict[str, str]]) -> None:
    cluster, tokens = nodes
    with client(cluster.nodes["police"], tokens["police"]) as c:
        rows = c.get("/api/v1/audit/summary", params={"partner": "customs"}).json()["rows"]
    inbound = [r for r in rows if r["direction"] == "inbound"]
    assert sum(r["queries"] for r in inbound) >= 1
    assert all(r["latency_p99_ms"] >= r["latency_p50_ms"] > 0 for r in inbound)


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_an_export_from_the_api_verifies_offline_and_tampering_is_reported(
    nodes: tuple[Cluster, dict[str, str]], tmp_path: Path, fmt: str
) -> None:
    cluster, tokens = nodes
    police = cluster.nodes["police"]
    with client(police, tokens["police"]) as c:
        response = c.get("/api/v1/audit/export", params={"format": fmt})
    assert response.status_code == 200
    export = tmp_path / f"police.{fmt}"
    export.write_bytes(response.content)
    public_key = str(police.config.folder / "keys" / "node.pub")
    ok = cordon("audit", "verify", str(export), "--public-key", public_key)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "every check passed" in ok.stdout
    export.write_bytes(response.content.replace(b"organised-crime", b"organised-crimf", 1))
    bad = cordon("audit", "verify", str(export), "--public-key", public_key)
    assert bad.returncode == 1 and "modified-entry" in bad.stdout


def test_checkpoints_keep_coming_while_the_node_is_idle(
    nodes: tuple[Cluster, dict[str, str]],
) -> None:
    cluster, _tokens = nodes
    engine = create_engine(cluster.nodes["customs"].config.database_url)
    try:

        def count() -> int:
            with engine.connect() as conn:
                return int(
                    conn.execute(select(func.count()).select_from(audit_checkpoints)).scalar() or 0
                )

        before = count()
        time.sleep(1.5)
        assert count() >= before + 2
    finally:
        engine.dispose()


def test_partners_witness_and_cosign_each_others_checkpoints(
    nodes: tuple[Cluster, dict[str, str]],
) -> None:
    cluster, tokens = nodes

    def seen_police() -> list[dict[str, object]]:
        view = witness_view(cluster.nodes["customs"], tokens["customs"])
        return [o for o in view["observations"] if o["partner"] == "police" and o["size"]]

    observation = wait_for(seen_police, what="customs to witness police")[0]
    assert observation["verdict"] in ("first", "consistent")
    assert "\u2014 customs " in str(observation["checkpoint"])
    engine = create_engine(cluster.nodes["police"].config.database_url)
    try:
        with engine.connect() as conn:
            witnesses = set(conn.execute(select(audit_cosignatures.c.witness)).scalars())
    finally:
        engine.dispose()
    assert witnesses == {"customs"}
    assert witness_view(cluster.nodes["customs"], tokens["customs"])["alerts"] == []


def test_the_cli_searches_summarises_proves_and_verifies_a_proof(
    nodes: tuple[Cluster, dict[str, str]], tmp_path: Path
) -> None:
    cluster, _tokens = nodes
    police = cluster.nodes["police"]
    config = str(police.config_path)
    found = cordon("audit", "search", "--config", config, "--query-type", "match", "--json")
    assert found.returncode == 0, found.stderr
    entry = json.loads(found.stdout.splitlines()[0])
    summary = cordon("audit", "summary", "--config", config, "--json", "--period", "all")
    assert any(row["partner"] == "customs" for row in json.loads(summary.stdout))
    proof = cordon("audit", "prove", "--config", config, "--seq", str(entry["seq"]))
    assert proof.returncode == 0, proof.stderr
    path = tmp_path / "proof.json"
    path.write_text(proof.stdout)
    key = str(police.config.folder / "keys" / "node.pub")
    assert cordon("audit", "verify", str(path), "--public-key", key).returncode == 0
    forged = json.loads(proof.stdout)
    forged["entry"] = forged["entry"].replace('"match"', '"other"')
    path.write_text(json.dumps(forged))
    assert cordon("audit", "verify", str(path), "--public-key", key).returncode == 1
