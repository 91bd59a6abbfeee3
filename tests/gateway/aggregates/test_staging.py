"""File sources are staged into the node's database and the exact aggregate is pushed down to
it; SQL sources are pushed down to the agency's database. Both on SQLite and PostgreSQL, with
the same answers as the SQLite source in ``test_query``."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from connectors.aggregate_mapping import AggregateDeclaration, load_aggregate_declaration
from gateway.aggregates.cache import AnswerCache
from gateway.aggregates.declarations import AggregateDatasets, check_query
from gateway.aggregates.ledger import PrivacyLedger
from gateway.aggregates.query import SourceDatabases, SourceUnavailable
from gateway.aggregates.schemas import AggregateQuery
from gateway.aggregates.service import AggregateAnswerer
from gateway.storage.database import open_engine, upgrade
from tests.gateway.aggregates.conftest import DECLARATION, NOW, ROWS

SQL_SOURCE = "kind: sql, url: sqlite:///seizures.db, table: seizures"
# (template fields, expected exact answer) as in test_query: bounding, clamping, public keys.
EXPECTED: list[tuple[dict[str, object], list[int]]] = [
    ({"template": "count"}, [8]),
    ({"template": "sum", "column": "quantity_kg"}, [1470]),
    ({"template": "count", "group_by": ["port"]}, [5, 2, 0]),
    (
        {
            "template": "sum",
            "column": "quantity_kg",
            "group_by": ["month"],
            "filters": {"port": ["BEANR"]},
        },
        [0, 20],
    ),
]


def write_csv(folder: Path) -> AggregateDeclaration:
    with (folder / "seizures.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["case_id", "port", "month", "quantity_kg"])
        writer.writerows([("" if c is None else c, p, m, q) for c, p, m, q in ROWS])
    (folder / "seizures.yaml").write_text(
        DECLARATION.replace(SQL_SOURCE, "kind: csv, path: seizures.csv")
    )
    return load_aggregate_declaration(folder / "seizures.yaml")


def write_jsonl(folder: Path) -> AggregateDeclaration:
    lines = [
        json.dumps({"case_id": c, "port": p, "month": m, "quantity_kg": q}) for c, p, m, q in ROWS
    ]
    (folder / "seizures.jsonl").write_text("\n".join([*lines, "not json", "[1]"]) + "\n")
    (folder / "seizures.yaml").write_text(
        DECLARATION.replace(SQL_SOURCE, "kind: jsonl, path: seizures.jsonl")
    )
    return load_aggregate_declaration(folder / "seizures.yaml")


def answerer_on(engine: Engine, declaration: AggregateDeclaration) -> AggregateAnswerer:
    return AggregateAnswerer(
        "customs",
        AggregateDatasets([declaration]),
        SourceDatabases(engine),
        PrivacyLedger(engine, lambda: NOW),
        AnswerCache(engine, lambda: NOW),
    )


def exact(
    answerer: AggregateAnswerer, sources: SourceDatabases, fields: dict[str, object]
) -> list[int]:
    query = AggregateQuery.model_validate({"dataset": "seizures", "rho": 0.1, **fields})
    return sources.exact(check_query(answerer.datasets.get("seizures"), query))


@pytest.fixture(params=["sqlite", "postgres"])
def node_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = open_engine(f"sqlite:///{tmp_path / 'node.db'}")
    else:
        engine = open_engine(request.getfixturevalue("postgres_url"))
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.mark.parametrize("write", [write_csv, write_jsonl], ids=["csv", "jsonl"])
def test_staged_file_answers_like_the_sql_source(
    node_db: Engine, tmp_path: Path, write: object
) -> None:
    assert callable(write)
    declaration = write(tmp_path)
    answerer = answerer_on(node_db, declaration)
    sources = SourceDatabases(node_db)
    try:
        [report] = answerer.refresh()
        assert (report.staged, report.rows_read, report.rows_without_unit) == (True, 11, 1)
        assert report.rows_staged == 10 and report.generation == 1
        for fields, expected in EXPECTED:
            assert exact(answerer, sources, fields) == expected, fields
    finally:
        answerer.close()


def test_a_file_source_is_not_answered_before_it_is_staged(
    node_engine: Engine, tmp_path: Path
) -> None:
    answerer = answerer_on(node_engine, write_csv(tmp_path))
    with pytest.raises(SourceUnavailable, match="not staged"):
        exact(answerer, SourceDatabases(node_engine), {"template": "count"})


def test_refresh_restages_changed_data_and_starts_a_new_cache_generation(
    node_engine: Engine, tmp_path: Path
) -> None:
    declaration = write_csv(tmp_path)
    answerer = answerer_on(node_engine, declaration)
    sources = SourceDatabases(node_engine)
    answerer.refresh()
    with (tmp_path / "seizures.csv").open("a") as handle:
        handle.write("C9,DEHAM,2024-02,30\n")
    [report] = answerer.refresh(["seizures"])
    assert report.generation == 2 == answerer.cache.generation("seizures")
    assert exact(answerer, sources, {"template": "count", "group_by": ["port"]}) == [5, 2, 1]


def test_refresh_of_a_sql_source_only_moves_the_cache_generation(
    node_engine: Engine, declaration: AggregateDeclaration
) -> None:
    answerer = answerer_on(node_engine, declaration)
    [report] = answerer.refresh()
    assert (report.staged, report.rows_read, report.generation) == (False, 0, 1)


@pytest.mark.postgres
def test_sql_source_on_postgres_is_pushed_down_with_bounding_and_clamping(
    postgres_url: str, tmp_path: Path, node_engine: Engine
) -> None:
    source = open_engine(postgres_url)
    try:
        with source.begin() as connection:
            connection.execute(
                text(
                    "CREATE TABLE seizures (seizure_id SERIAL PRIMARY KEY, case_id TEXT, "
                    "port TEXT, month TEXT, quantity_kg INTEGER)"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO seizures (case_id, port, month, quantity_kg) "
                    "VALUES (:c, :p, :m, :q)"
                ),
                [{"c": c, "p": p, "m": m, "q": q} for c, p, m, q in ROWS],
            )
        (tmp_path / "pg.yaml").write_text(
            DECLARATION.replace("url: sqlite:///seizures.db", f"url: '{postgres_url}'")
        )
        answerer = answerer_on(node_engine, load_aggregate_declaration(tmp_path / "pg.yaml"))
        sources = SourceDatabases(node_engine)
        try:
            for fields, expected in EXPECTED:
                assert exact(answerer, sources, fields) == expected, fields
        finally:
            sources.close()
            answerer.close()
    finally:
        source.dispose()
