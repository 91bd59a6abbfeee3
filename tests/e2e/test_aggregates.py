"""Federated, differentially private aggregates between three real nodes over mutual TLS:
customs (seizures in a CSV file, staged), police (JSON Lines, staged; on PostgreSQL when
CORDON_TEST_POSTGRES_URL is set) and intel (a SQL table read in place). Intel grants customs
only, so police's question to intel is refused."""

from __future__ import annotations

import json
import math
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select

from gateway.audit.store import audit_entries
from gateway.demo.cluster import AgencySetup, Cluster, provision
from tests.e2e.conftest import optional_postgres_database

PORTS = ("NLRTM", "BEANR", "DEHAM")
# Seizure rows per (agency, port): two rows per case; nobody has any at DEHAM.
ROWS = {
    "customs": {"NLRTM": 120, "BEANR": 60},
    "police": {"NLRTM": 80, "BEANR": 40},
    "intel": {"NLRTM": 200, "BEANR": 30},
}
RHO = 0.25
NANO = 10**9

DECLARATION = """\
aggregate_dataset: seizures
source: {source}
privacy_unit: case_id
max_rows_per_unit: 4
columns:
  port: {{type: categorical, values: [NLRTM, BEANR, DEHAM]}}
  month: {{type: categorical, values: ["2025-01", "2025-02"]}}
  commodity: {{type: categorical}}
  quantity_kg: {{type: integer, lower: 0, upper: 2000}}
"""

POLICY = """\
policy: 1
node: {node}
purposes:
  strategic-analysis: {{legal_basis: "test basis"}}
rules:
  - id: seizure-statistics
    partners: [{partners}]
    purposes: [strategic-analysis]
    aggregate:
      datasets:
        seizures:
          columns: [port, month, commodity, quantity_kg]
          group_by: [[port], [port, month], [commodity]]
          min_group_size: {min_group_size}
          rho_per_query: 0.5
          rho_per_period: 1.0
          period: month
          delta_per_query: 1.0e-8
          delta_per_period: 1.0e-6
global_caps:
  seizures: {{rho: 3.0, period: month, delta: 3.0e-6}}
"""
GRANTS = {"customs": "police, intel", "police": "customs, intel", "intel": "customs"}
# Intel suppresses groups under 20: its DEHAM count (0, noise scale 8) is suppressed with
# probability above 0.99, its NLRTM (200) and BEANR (30) kept with probability above 0.99.
MIN_GROUP_SIZE = {"customs": 1, "police": 1, "intel": 20}


def rows_of(agency: str) -> list[dict[str, object]]:
    """Two rows per case; every commodity is cocaine but for the first NLRTM case's, which
    no other case shares (its key must never be released)."""
    rows: list[dict[str, object]] = []
    for port, count in ROWS[agency].items():
        for i in range(count):
            rows.append(
                {
                    "case_id": f"{agency}-{port}-{i // 2}",
                    "port": port,
                    "month": "2025-01" if i % 3 else "2025-02",
                    "commodity": f"rare-{agency}" if (port, i // 2) == ("NLRTM", 0) else "cocaine",
                    "quantity_kg": 10 + i,
                }
            )
    return rows


def write_agency(folder: Path, agency: str) -> Path:
    folder.mkdir(parents=True)
    rows = rows_of(agency)
    if agency == "customs":
        columns = ("case_id", "port", "month", "commodity", "quantity_kg")
        lines = [",".join(columns)]
        lines += [",".join(str(r[c]) for c in columns) for r in rows]
        (folder / "seizures.csv").write_text("\n".join(lines) + "\n")
        source = "{kind: csv, path: seizures.csv}"
    elif agency == "police":
        (folder / "seizures.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
        source = "{kind: jsonl, path: seizures.jsonl}"
    else:
        with sqlite3.connect(folder / "watch.db") as db:
            db.execute(
                "CREATE TABLE seizures (case_id TEXT, port TEXT, month TEXT, commodity TEXT,"
                " quantity_kg INT)"
            )
            db.executemany(
                "INSERT INTO seizures VALUES (:case_id, :port, :month, :commodity, :quantity_kg)",
                rows,
            )
        db.close()
        source = "{kind: sql, url: 'sqlite:///watch.db', table: seizures}"
    declaration = folder / "seizures-aggregate.yaml"
    declaration.write_text(DECLARATION.format(source=source))
    return declaration


def cordon(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def police_database() -> Iterator[str | None]:
    """This federation's own police database (never the other federation's)."""
    with optional_postgres_database() as url:
        yield url


@pytest.fixture(scope="module")
def aggregates_federation(
    tmp_path_factory: pytest.TempPathFactory, police_database: str | None
) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("aggregates")
    setups, extra = [], {}
    for agency in ("customs", "police", "intel"):
        policy = root / f"{agency}-policy.yaml"
        policy.write_text(
            POLICY.format(
                node=agency, partners=GRANTS[agency], min_group_size=MIN_GROUP_SIZE[agency]
            )
        )
        declaration = write_agency(root / f"data-{agency}", agency)
        extra[agency] = {"aggregates": [str(declaration)]}
        setups.append(
            AgencySetup(
                agency,
                agency.title(),
                policy,
                database=police_database if agency == "police" else None,
            )
        )
    cluster = provision(root / "nodes", setups, peer_deadline_seconds=5.0, extra_config=extra)
    for member in cluster.nodes.values():
        refreshed = cordon("aggregate", "refresh", "--config", str(member.config_path))
        assert refreshed.returncode == 0, refreshed.stderr
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


def ask(cluster: Cluster, by: str, **query: Any) -> dict[str, Any]:
    body = {
        "purpose": "strategic-analysis",
        "case_reference": "STRAT-1",
        "query": {"dataset": "seizures", "template": "count", "rho": RHO, **query},
    }
    with cluster.nodes[by].client() as client:
        response = client.post("/api/v1/aggregate", json=body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def audit_rows(cluster: Cluster, agency: str) -> list[dict[str, Any]]:
    engine = create_engine(cluster.nodes[agency].config.database_url)
    try:
        # The audit writer may commit just after the answer has left: give it a moment.
        for _ in range(50):
            with engine.connect() as conn:
                rows = [
                    dict(r)
                    for r in conn.execute(
                        select(audit_entries).where(audit_entries.c.query_type == "aggregate")
                    ).mappings()
                ]
            if rows:
                return rows
            time.sleep(0.1)
        return []
    finally:
        engine.dispose()


def test_federated_count_sums_own_and_peer_answers_with_combined_uncertainty(
    aggregates_federation: Cluster,
) -> None:
    answer = ask(aggregates_federation, "customs", group_by=["port"])
    own, peers = answer["own"], {p["agency"]: p for p in answer["peers"]}
    assert own["agency"] == "customs" and own["status"] == "ok"
    assert (peers["police"]["status"], peers["intel"]["status"]) == ("ok", "ok")
    nodes = [own["aggregate"], peers["police"]["aggregate"], peers["intel"]["aggregate"]]
    combined = answer["combined"]
    assert set(combined["responders"]) == {"customs", "police", "intel"}
    # Every node charged exactly the rho asked and says what it has left.
    for node in nodes:
        assert node["rho_charged_nano"] == RHO * NANO
        assert node["budget_left_nano"] == NANO - RHO * NANO
        assert node["mechanism"] == "discrete_gaussian" and node["scale"] > 0
    assert combined["rho_charged_nano"] == 3 * RHO * NANO
    assert combined["budget_left_min"] == 1.0 - RHO
    variance = sum(n["variance"] for n in nodes)
    assert combined["variance"] == pytest.approx(variance)
    assert combined["ci95_half_width"] == pytest.approx(1.959963984540054 * math.sqrt(variance))
    nlrtm = combined["groups"][0]
    assert nlrtm["key"] == ["NLRTM"] and not nlrtm["suppressed"]
    assert nlrtm["value"] == sum(n["groups"][0]["value"] for n in nodes)
    assert nlrtm["ci_low"] == pytest.approx(nlrtm["value"] - combined["ci95_half_width"])
    # The truth (400 rows) is within 6 standard deviations of the noisy sum (fails < 1e-8).
    assert abs(nlrtm["value"] - 400) <= 6 * math.sqrt(variance)


def test_groups_below_a_nodes_minimum_are_suppressed_and_so_is_their_sum(
    aggregates_federation: Cluster,
) -> None:
    answer = ask(aggregates_federation, "customs", group_by=["port"], rho=0.125)
    intel = next(p for p in answer["peers"] if p["agency"] == "intel")["aggregate"]
    deham = intel["groups"][2]
    assert deham["key"] == ["DEHAM"] and deham["suppressed"] and deham["value"] is None
    assert intel["min_group_size"] == 20
    combined = answer["combined"]["groups"][2]
    assert combined["suppressed"] and combined["value"] is None


def test_a_repeated_question_is_answered_from_cache_at_no_cost(
    aggregates_federation: Cluster,
) -> None:
    query = {"template": "sum", "column": "quantity_kg", "group_by": ["port"], "rho": 0.0625}
    first = ask(aggregates_federation, "intel", **query)
    again = ask(aggregates_federation, "intel", **query)
    assert first["combined"]["rho_charged_nano"] > 0
    assert again["combined"]["rho_charged_nano"] == 0
    assert again["combined"]["groups"] == first["combined"]["groups"]
    assert all(p["aggregate"]["cached"] for p in [again["own"], *again["peers"]])


def test_a_partner_without_a_grant_is_denied_and_charged_nothing(
    aggregates_federation: Cluster,
) -> None:
    answer = ask(aggregates_federation, "police", group_by=["port"])
    peers = {p["agency"]: p for p in answer["peers"]}
    assert peers["intel"]["status"] == "denied" and peers["intel"]["aggregate"] is None
    assert peers["customs"]["status"] == "ok"
    assert set(answer["combined"]["responders"]) == {"police", "customs"}
    denied = [
        r
        for r in audit_rows(aggregates_federation, "intel")
        if r["requester_agency"] == "police" and r["decision"] == "denied"
    ]
    assert denied and denied[-1]["rho_charged"] == 0.0
    assert denied[-1]["outcome"]["refused"] == "forbidden"


def test_every_aggregate_is_audited_with_its_rho_on_both_sides(
    aggregates_federation: Cluster,
) -> None:
    answer = ask(aggregates_federation, "customs", group_by=["port", "month"], rho=0.0625)
    police_rho = next(p for p in answer["peers"] if p["agency"] == "police")["aggregate"]
    outbound = [
        r for r in audit_rows(aggregates_federation, "customs") if r["channel"] == "outbound"
    ]
    mine = next(r for r in outbound if r["outcome"]["group_by"] == ["port", "month"])
    assert mine["rho_charged"] == 0.0625  # customs' own figure, on customs' ledger
    assert mine["outcome"]["peer_rho_charged_nano"]["police"] == police_rho["rho_charged_nano"]
    assert mine["outcome"]["rho_charged_nano"] == answer["combined"]["rho_charged_nano"]
    inbound = [
        r
        for r in audit_rows(aggregates_federation, "police")
        if r["channel"] == "peer" and r["requester_agency"] == "customs"
    ]
    theirs = next(r for r in inbound if r["outcome"]["group_by"] == ["port", "month"])
    assert theirs["decision"] == "allowed" and theirs["rho_charged"] == 0.0625
    assert theirs["case_reference"] == "STRAT-1"


def test_an_invalid_rho_is_refused_before_anyone_is_asked(
    aggregates_federation: Cluster,
) -> None:
    for bad in (0, -1, 1e-12):
        body = {
            "purpose": "strategic-analysis",
            "case_reference": "STRAT-1",
            "query": {"dataset": "seizures", "template": "count", "rho": bad},
        }
        with aggregates_federation.nodes["customs"].client() as client:
            response = client.post("/api/v1/aggregate", json=body)
        assert response.status_code == 400
        assert "rho" in response.json()["detail"]


def test_cordon_aggregate_prints_values_intervals_and_budget(
    aggregates_federation: Cluster,
) -> None:
    member = aggregates_federation.nodes["police"]
    common = [
        "aggregate", "query", "seizures", "--config", str(member.config_path),
        "--token", member.analyst_token, "--purpose", "strategic-analysis",
        "--case", "STRAT-2", "--rho", "0.03125", "--group-by", "port",
        "--filter", "month=2025-01",
    ]  # fmt: skip
    shown = cordon(*common)
    assert shown.returncode == 0, shown.stderr
    for text in ("NLRTM", "combined (95% interval)", "rho charged", "budget left", "denied"):
        assert text in shown.stdout
    as_json = cordon(*common, "--json")
    answer = json.loads(as_json.stdout)
    assert answer["combined"]["rho_charged_nano"] == 0  # the same question: from the cache
    assert [g["key"] for g in answer["combined"]["groups"]] == [[p] for p in PORTS]


def test_keys_without_a_public_list_are_chosen_by_each_nodes_dp_threshold(
    aggregates_federation: Cluster,
) -> None:
    answer = ask(aggregates_federation, "customs", group_by=["commodity"])
    combined = answer["combined"]
    assert set(combined["responders"]) == {"customs", "police", "intel"}
    # Every node holds cocaine in well over 100 rows; each one's rare commodity is one case.
    assert [(g["key"], g["missing_from"]) for g in combined["groups"]] == [(["cocaine"], [])]
    nodes = [answer["own"]["aggregate"], *(p["aggregate"] for p in answer["peers"])]
    for node in nodes:
        selection = node["key_selection"]
        assert [g["key"] for g in node["groups"]] == [["cocaine"]]
        assert node["groups"][0]["value"] >= selection["threshold"]
        assert 0 < selection["delta_charged_femto"] <= 10**7
        assert node["rho_charged_nano"] == RHO * NANO
    assert combined["delta_charged_femto"] == sum(
        n["key_selection"]["delta_charged_femto"] for n in nodes
    )
    police = next(p["aggregate"] for p in answer["peers"] if p["agency"] == "police")
    for _ in range(50):  # the audit entry may be written just after the answer left
        entries = [
            row["outcome"]
            for row in audit_rows(aggregates_federation, "police")
            if row["outcome"].get("key_threshold") is not None
        ]
        if entries:
            break
        time.sleep(0.1)
    assert [e["delta_charged_femto"] for e in entries] == [
        police["key_selection"]["delta_charged_femto"]
    ]
    assert entries[0]["key_threshold"] == police["key_selection"]["threshold"]


def test_a_question_every_node_refuses_says_why_for_each_uncharged(
    aggregates_federation: Cluster,
) -> None:
    answer = ask(
        aggregates_federation, "customs", group_by=["commodity"], mechanism="discrete_laplace"
    )
    assert answer["own"]["status"] == "bad_request"
    assert "discrete_gaussian" in answer["own"]["detail"]
    for peer in answer["peers"]:
        assert peer["status"] == "error"
        assert peer["detail"].startswith("HTTP 400: mechanism:")
        assert "discrete_gaussian" in peer["detail"]
    assert answer["combined"]["responders"] == []
    assert answer["combined"]["rho_charged_nano"] == 0
