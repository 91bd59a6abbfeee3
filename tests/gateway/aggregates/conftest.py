"""Fixtures for the aggregate tests: a seizures table in a real SQLite source database, its
declaration file, a migrated node database and a policy granting ``police`` aggregates."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from connectors.aggregate_mapping import AggregateDeclaration, load_aggregate_declaration
from gateway.aggregates.cache import AnswerCache
from gateway.aggregates.declarations import AggregateDatasets
from gateway.aggregates.ledger import PrivacyLedger
from gateway.aggregates.query import SourceDatabases
from gateway.aggregates.service import AggregateAnswerer
from gateway.storage.database import open_engine, upgrade
from policies import Policy, load_policy

PORTS = ("NLRTM", "BEANR", "DEHAM")
MONTHS = ("2024-01", "2024-02")
# (case, port, month, quantity): case C1 has 6 rows, bounded to 4 by max_rows_per_unit.
ROWS = [
    *[("C1", "NLRTM", "2024-01", 100)] * 6,
    ("C2", "NLRTM", "2024-01", 5000),  # clamped to 1000
    ("C3", "BEANR", "2024-02", -7),  # clamped to 0
    ("C4", "BEANR", "2024-02", 20),
    ("C5", "XXOTH", "2024-01", 50),  # port not in the public list
    (None, "NLRTM", "2024-01", 10),  # no privacy unit: never counted
]

DECLARATION = """\
aggregate_dataset: seizures
source: {kind: sql, url: sqlite:///seizures.db, table: seizures}
privacy_unit: case_id
max_rows_per_unit: 4
columns:
  port: {type: categorical, values: [NLRTM, BEANR, DEHAM]}
  month: {type: categorical, values: ["2024-01", "2024-02"]}
  quantity_kg: {type: integer, lower: 0, upper: 1000}
"""

POLICY = """\
policy: 1
node: customs
purposes:
  strategic-analysis:
    legal_basis: "test"
rules:
  - id: seizure-statistics
    partners: [police]
    purposes: [strategic-analysis]
    aggregate:
      datasets:
        seizures:
          columns: [port, month, quantity_kg]
          group_by: [[port], [port, month]]
          min_group_size: {min_group_size}
          rho_per_query: 0.5
          rho_per_period: 1.0
          period: month
global_caps:
  seizures: {{rho: 4.0, period: month}}
"""

NOW = datetime(2024, 6, 15, 12, 0, tzinfo=UTC)


def write_seizures(path: Path, rows: list[tuple[str | None, str, str, int]]) -> None:
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE seizures (seizure_id INTEGER PRIMARY KEY, case_id TEXT, port TEXT,"
            " month TEXT, quantity_kg INTEGER)"
        )
        db.executemany(
            "INSERT INTO seizures (case_id, port, month, quantity_kg) VALUES (?, ?, ?, ?)", rows
        )
    path.chmod(0o600)


@pytest.fixture
def declaration(tmp_path: Path) -> AggregateDeclaration:
    write_seizures(tmp_path / "seizures.db", ROWS)
    (tmp_path / "seizures.yaml").write_text(DECLARATION)
    return load_aggregate_declaration(tmp_path / "seizures.yaml")


def answerer_on(engine: Engine, declaration: AggregateDeclaration) -> AggregateAnswerer:
    """The peer-side answerer of ``customs`` over ``declaration``, on the node database
    ``engine``, with the clock stopped at ``NOW``."""
    return AggregateAnswerer(
        "customs",
        AggregateDatasets([declaration]),
        SourceDatabases(engine),
        PrivacyLedger(engine, lambda: NOW),
        AnswerCache(engine, lambda: NOW),
    )


@pytest.fixture
def answerer(declaration: AggregateDeclaration, node_engine: Engine) -> Iterator[AggregateAnswerer]:
    """``answerer_on`` the test's node database and declaration (a module may declare its own)."""
    service = answerer_on(node_engine, declaration)
    yield service
    service.close()


@pytest.fixture
def node_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = open_engine(f"sqlite:///{tmp_path / 'node.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


def make_policy(min_group_size: int = 1) -> Policy:
    return load_policy(POLICY.format(min_group_size=min_group_size))


@pytest.fixture
def policy() -> Policy:
    return make_policy()
