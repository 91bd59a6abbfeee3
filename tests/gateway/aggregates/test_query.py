from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql, sqlite

from connectors.aggregate_mapping import AggregateDeclaration
from connectors.mapping_types import CsvSource
from gateway.aggregates.declarations import check_query
from gateway.aggregates.query import SourceDatabases, exact_statement
from gateway.aggregates.schemas import AggregateQuery
from gateway.aggregates.staging import stage
from tests.gateway.aggregates.conftest import ROWS


@pytest.fixture
def sources(node_engine: Engine) -> Iterator[SourceDatabases]:
    databases = SourceDatabases(node_engine)
    yield databases
    databases.close()


def exact(
    sources: SourceDatabases, declaration: AggregateDeclaration, **fields: object
) -> list[int]:
    query = AggregateQuery.model_validate({"dataset": "seizures", "rho": 0.1, **fields})
    return sources.exact(check_query(declaration, query))


def test_count_bounds_each_unit_to_max_rows_and_skips_rows_without_a_unit(
    sources: SourceDatabases, declaration: AggregateDeclaration
) -> None:
    # C1 contributes 4 of its 6 rows; C2..C5 one each; the row without a case none.
    assert exact(sources, declaration, template="count") == [4 + 4]


def test_sum_clamps_values_to_the_declared_bounds(
    sources: SourceDatabases, declaration: AggregateDeclaration
) -> None:
    # 4 x 100 (C1 bounded) + 1000 (5000 clamped) + 0 (-7 clamped) + 20 + 50
    assert exact(sources, declaration, template="sum", column="quantity_kg") == [1470]


def test_group_by_answers_every_public_key_and_only_public_keys(
    sources: SourceDatabases, declaration: AggregateDeclaration
) -> None:
    # NLRTM, BEANR, DEHAM: the XXOTH row is not in the public list; DEHAM answers 0.
    assert exact(sources, declaration, template="count", group_by=["port"]) == [5, 2, 0]


def test_filters_restrict_the_rows(
    sources: SourceDatabases, declaration: AggregateDeclaration
) -> None:
    counted = exact(
        sources,
        declaration,
        template="sum",
        column="quantity_kg",
        group_by=["month"],
        filters={"port": ["BEANR"]},
    )
    assert counted == [0, 20]


@pytest.fixture
def staged(declaration: AggregateDeclaration, tmp_path: Path) -> AggregateDeclaration:
    """The same rows and declaration, from a CSV file (not staged: ``stage`` it to query)."""
    with (tmp_path / "seizures.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["case_id", "port", "month", "quantity_kg"])
        writer.writerows(ROWS)
    return replace(declaration, source=CsvSource(tmp_path / "seizures.csv"))


def compiled(declaration: AggregateDeclaration, dialect: str = "sqlite", **fields: object) -> str:
    query = AggregateQuery.model_validate({"dataset": "seizures", "rho": 0.1, **fields})
    statement = exact_statement(check_query(declaration, query))
    chosen = sqlite.dialect() if dialect == "sqlite" else postgresql.dialect()
    sql = statement.compile(dialect=chosen, compile_kwargs={"literal_binds": True})
    return " ".join(str(sql).split())


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_a_staged_count_is_a_plain_count_of_the_staged_table(
    staged: AggregateDeclaration, dialect: str
) -> None:
    # The count is the inner statement's only column (SQLite's COUNT(*) fast path); the outer
    # one only copies it as the rows counted. No bounding, clamping or filter is left to do.
    assert compiled(staged, dialect, template="count") == (
        "SELECT counted.total, counted.total AS rows "
        "FROM (SELECT count(*) AS total FROM aggregate_staged_seizures) AS counted"
    )


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_a_staged_sum_is_a_plain_sum_beside_its_count(
    staged: AggregateDeclaration, dialect: str
) -> None:
    assert compiled(staged, dialect, template="sum", column="quantity_kg") == (
        "SELECT sum(aggregate_staged_seizures.quantity_kg) AS total, count(*) AS rows "
        "FROM aggregate_staged_seizures"
    )


def test_a_staged_question_filters_and_groups_without_bounding_or_clamping(
    staged: AggregateDeclaration,
) -> None:
    sql = compiled(
        staged,
        template="sum",
        column="quantity_kg",
        group_by=["month"],
        filters={"port": ["BEANR"]},
    )
    assert sql == (
        "SELECT aggregate_staged_seizures.month AS g0, "
        "sum(aggregate_staged_seizures.quantity_kg) AS total, count(*) AS rows "
        "FROM aggregate_staged_seizures "
        "WHERE aggregate_staged_seizures.port IN ('BEANR') "
        "AND aggregate_staged_seizures.month IN ('2024-01', '2024-02') "
        "GROUP BY aggregate_staged_seizures.month"
    )
    counted = compiled(staged, template="count", group_by=["port"], filters={"month": ["2024-01"]})
    for bounding in ("CASE", "row_number", "contribution", "case_id"):
        assert bounding not in counted


def test_sqlite_counts_a_staged_table_by_its_count_fast_path(
    node_engine: Engine, staged: AggregateDeclaration
) -> None:
    stage(node_engine, staged)
    query = AggregateQuery(dataset="seizures", template="count", rho=0.1)
    statement = exact_statement(check_query(staged, query))
    with node_engine.connect() as connection:
        sql = str(statement.compile(connection))
        program = connection.exec_driver_sql(f"EXPLAIN {sql}").all()
    # OP_Count reads the b-tree's row count instead of stepping through every row.
    assert "Count" in {row[1] for row in program}


def test_in_place_sources_still_bound_and_clamp_in_sql(declaration: AggregateDeclaration) -> None:
    sql = compiled(declaration, template="sum", column="quantity_kg")
    assert "row_number() OVER (PARTITION BY seizures.case_id" in sql
    assert "CASE WHEN (seizures.quantity_kg IS NULL)" in sql
    assert "WHERE bounded.contribution <= 4" in sql


def test_staged_answers_match_the_in_place_source(
    sources: SourceDatabases,
    node_engine: Engine,
    declaration: AggregateDeclaration,
    staged: AggregateDeclaration,
) -> None:
    stage(node_engine, staged)
    for fields in (
        {"template": "count"},
        {"template": "sum", "column": "quantity_kg"},
        {"template": "count", "group_by": ["port"]},
        {"template": "sum", "column": "quantity_kg", "group_by": ["port", "month"]},
        {"template": "count", "filters": {"port": ["BEANR"]}},
    ):
        query = AggregateQuery.model_validate({"dataset": "seizures", "rho": 0.1, **fields})
        in_place = sources.exact_with_counts(check_query(declaration, query))
        assert sources.exact_with_counts(check_query(staged, query)) == in_place, fields
