"""File sources are staged into the node's database and the exact aggregate is pushed down to
it; SQL sources are pushed down to the agency's database. Both on SQLite and PostgreSQL, with
the same answers as the SQLite source in ``test_query``."""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, column, event, inspect, select, table, text

from connectors.aggregate_mapping import AggregateDeclaration, load_aggregate_declaration
from connectors.errors import SourceError
from gateway.aggregates.declarations import check_query
from gateway.aggregates.query import SourceDatabases, SourceUnavailable
from gateway.aggregates.schemas import AggregateQuery
from gateway.aggregates.service import AggregateAnswerer
from gateway.aggregates.staging import stage
from gateway.storage.database import open_engine, upgrade
from tests.gateway.aggregates.conftest import (
    DECLARATION,
    MONTHS,
    PORTS,
    ROWS,
    answerer_on,
    write_seizures,
)

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


def write_csv(
    folder: Path, rows: list[tuple[object, ...]] | None = None, declaration: str = DECLARATION
) -> AggregateDeclaration:
    with (folder / "seizures.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["case_id", "port", "month", "quantity_kg"])
        writer.writerows([("" if c is None else c, p, m, q) for c, p, m, q in rows or ROWS])
    return declare(folder, declaration)


def declare(folder: Path, declaration: str = DECLARATION) -> AggregateDeclaration:
    """(Re)write the CSV source's declaration file and load it."""
    (folder / "seizures.yaml").write_text(
        declaration.replace(SQL_SOURCE, "kind: csv, path: seizures.csv")
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
        # C1's 5th and 6th rows are beyond max_rows_per_unit: never staged.
        assert (report.rows_staged, report.rows_beyond_bound) == (8, 2)
        assert report.generation == 1
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


def staged_rows(engine: Engine, key: str = "port") -> list[tuple[object, ...]]:
    staged = table("aggregate_staged_seizures", column(key), column("quantity_kg"))
    with engine.connect() as connection:
        rows = connection.execute(
            select(staged.c[key], staged.c.quantity_kg).order_by(staged.c[key], "quantity_kg")
        )
        return [tuple(row) for row in rows]


def test_the_staged_copy_holds_the_declared_columns_and_never_the_privacy_unit(
    node_engine: Engine, tmp_path: Path
) -> None:
    declaration = write_csv(tmp_path, [("C1", "NLRTM", "2024-01", 10)], DECLARATION)
    answerer_on(node_engine, declaration).refresh()
    columns = {c["name"] for c in inspect(node_engine).get_columns("aggregate_staged_seizures")}
    assert columns == {"port", "month", "quantity_kg"}


def test_staging_keeps_each_units_first_rows_and_clamps_integers(
    node_db: Engine, tmp_path: Path
) -> None:
    rows: list[tuple[object, ...]] = [
        *[("C1", "DEHAM", "2024-01", q) for q in (10, 20, 30, 40, 50, 60)],
        ("C2", "NLRTM", "2024-01", 5000),  # above the bound
        ("C3", "NLRTM", "2024-01", -7),  # below the bound
        ("C4", "NLRTM", "2024-01", None),  # missing
        ("C5", "NLRTM", "2024-02", "12.5"),  # not whole
        ("C6", "NLRTM", "2024-02", "lots"),  # not a number
        ("C7", "BEANR", "2024-02", " 40 "),
    ]
    declaration = write_csv(tmp_path, rows, DECLARATION.replace("lower: 0", "lower: 5"))
    answerer = answerer_on(node_db, declaration)
    sources = SourceDatabases(node_db)
    try:
        [report] = answerer.refresh()
        assert (report.rows_read, report.rows_staged, report.rows_beyond_bound) == (12, 10, 2)
        # C1's first four rows in file order; every value clamped into [5, 1000] and a value
        # that is missing or not whole staged as 0 clamped (5).
        assert staged_rows(node_db) == [
            ("BEANR", 40),  # C7
            ("DEHAM", 10),  # C1's first four
            ("DEHAM", 20),
            ("DEHAM", 30),
            ("DEHAM", 40),
            ("NLRTM", 5),  # C3-C6
            ("NLRTM", 5),
            ("NLRTM", 5),
            ("NLRTM", 5),
            ("NLRTM", 1000),  # C2
        ]
        # The unit over the bound contributes exactly max_rows_per_unit rows to a count and
        # to a sum (DEHAM holds only C1).
        by_port = {"template": "count", "group_by": ["port"]}
        assert exact(answerer, sources, by_port) == [5, 1, 4]
        deham = {"template": "sum", "column": "quantity_kg", "filters": {"port": ["DEHAM"]}}
        assert exact(answerer, sources, deham) == [10 + 20 + 30 + 40]
        assert exact(answerer, sources, {"template": "sum", "column": "quantity_kg"}) == [1160]
    finally:
        answerer.close()


def test_staging_json_values_clamps_what_is_not_a_whole_number(
    node_engine: Engine, tmp_path: Path
) -> None:
    values: list[object] = [None, 12.5, 12.0, True, "7", [1], 10**30]
    lines = [
        json.dumps({"case_id": f"C{i}", "port": "NLRTM", "month": f"M{i}", "quantity_kg": v})
        for i, v in enumerate(values)
    ]
    (tmp_path / "seizures.jsonl").write_text("\n".join(lines) + "\n")
    (tmp_path / "seizures.yaml").write_text(
        DECLARATION.replace(SQL_SOURCE, "kind: jsonl, path: seizures.jsonl").replace(
            "lower: 0", "lower: 5"
        )
    )
    answerer_on(node_engine, load_aggregate_declaration(tmp_path / "seizures.yaml")).refresh()
    staged = dict(staged_rows(node_engine, key="month"))
    assert [staged[f"M{i}"] for i in range(len(values))] == [5, 5, 12, 5, 7, 5, 1000]


def comparable_rows() -> list[tuple[str | None, str, str, int | None]]:
    """Seizures whose bounded answers do not depend on which of a unit's rows are kept: a
    unit over the bound repeats one row (an in-place source keeps an arbitrary 4 of them,
    after filtering; staging keeps the first 4, before). Units are interleaved in the file."""
    rng = random.Random(7)
    quantities = [None, -50, 0, 300, 999, 1000, 5000]
    rows: list[tuple[str | None, str, str, int | None]] = []
    for case in range(120):
        unit = f"C{case}"
        if rng.random() < 0.3:
            repeated = (unit, rng.choice([*PORTS, "XXOTH"]), rng.choice(MONTHS))
            rows += [(*repeated, rng.choice(quantities))] * rng.randint(5, 8)
        else:
            for _ in range(rng.randint(1, 4)):
                port = rng.choice([*PORTS, "XXOTH"])
                rows.append((unit, port, rng.choice(MONTHS), rng.choice(quantities)))
    rows += [(None, "NLRTM", "2024-01", 10)] * 3
    rng.shuffle(rows)
    return rows


COMPARED: list[dict[str, object]] = [
    {"template": "count"},
    {"template": "sum", "column": "quantity_kg"},
    {"template": "count", "filters": {"port": ["DEHAM"]}},
    {"template": "sum", "column": "quantity_kg", "filters": {"port": ["NLRTM", "BEANR"]}},
    {"template": "count", "group_by": ["port"]},
    {"template": "count", "group_by": ["port", "month"]},
    {"template": "sum", "column": "quantity_kg", "group_by": ["month"]},
    {
        "template": "sum",
        "column": "quantity_kg",
        "group_by": ["port", "month"],
        "filters": {"month": ["2024-02"]},
    },
]


def test_staged_answers_equal_bounding_in_sql_on_the_same_rows(
    node_db: Engine, tmp_path: Path
) -> None:
    rows = comparable_rows()
    write_seizures(tmp_path / "seizures.db", rows)
    (tmp_path / "in_place.yaml").write_text(DECLARATION)
    in_place = load_aggregate_declaration(tmp_path / "in_place.yaml")
    staged = write_csv(tmp_path, list(rows))
    answerer_on(node_db, staged).refresh()
    reads_in_place, reads_staged = SourceDatabases(node_db), SourceDatabases(node_db)
    try:
        for fields in COMPARED:
            query = AggregateQuery.model_validate({"dataset": "seizures", "rho": 0.1, **fields})
            expected = reads_in_place.exact_with_counts(check_query(in_place, query))
            assert reads_staged.exact_with_counts(check_query(staged, query)) == expected, fields
            assert any(expected[0]), fields  # the comparison is not between empty answers
    finally:
        reads_in_place.close()


@pytest.mark.parametrize(
    ("change", "count", "total"),
    [
        (("max_rows_per_unit: 4", "max_rows_per_unit: 5"), 9, 1570),
        (("upper: 1000", "upper: 2000"), 8, 2470),
        (("quantity_kg: {type: integer", "weight_kg: {type: integer"), 8, None),
    ],
    ids=["max_rows_per_unit", "bounds", "columns"],
)
def test_a_declaration_changed_since_staging_is_refused_until_restaged(
    node_db: Engine, tmp_path: Path, change: tuple[str, str], count: int, total: int | None
) -> None:
    answerer_on(node_db, write_csv(tmp_path)).refresh()
    changed = declare(tmp_path, DECLARATION.replace(*change))
    answerer = answerer_on(node_db, changed)
    sources = SourceDatabases(node_db)
    try:
        with pytest.raises(SourceUnavailable, match=r"different declaration.*aggregate refresh"):
            exact(answerer, sources, {"template": "count"})
        answerer.refresh()
        assert exact(answerer, sources, {"template": "count"}) == [count]
        if total is not None:
            assert exact(answerer, sources, {"template": "sum", "column": "quantity_kg"}) == [total]
    finally:
        answerer.close()


def test_changes_staging_does_not_depend_on_need_no_restage(
    node_engine: Engine, tmp_path: Path
) -> None:
    answerer_on(node_engine, write_csv(tmp_path)).refresh()
    changed = DECLARATION.replace("DEHAM]", "DEHAM, FRLEH]").replace(
        "privacy_unit:", "description: Seizures by case\nprivacy_unit:"
    )
    answerer = answerer_on(node_engine, declare(tmp_path, changed))
    by_port = {"template": "count", "group_by": ["port"]}
    assert exact(answerer, SourceDatabases(node_engine), by_port) == [5, 2, 0, 0]


def test_a_table_staged_without_a_fingerprint_is_refused(
    node_engine: Engine, tmp_path: Path
) -> None:
    # As a table staged by a Cordon before fingerprints (with unbounded rows) would be.
    answerer = answerer_on(node_engine, write_csv(tmp_path))
    answerer.refresh()
    with node_engine.begin() as connection:
        connection.execute(text("DELETE FROM aggregate_staging_state"))
    with pytest.raises(SourceUnavailable, match=r"not staged.*aggregate refresh"):
        exact(answerer, SourceDatabases(node_engine), {"template": "count"})


def test_a_failed_restage_keeps_the_previous_rows_and_fingerprint(
    node_db: Engine, tmp_path: Path
) -> None:
    first = answerer_on(node_db, write_csv(tmp_path))
    first.refresh()
    with (tmp_path / "seizures.csv").open("ab") as handle:
        handle.write(b"C9,DEHAM,2024-02,\xff\xfe\n")
    changed = answerer_on(node_db, declare(tmp_path, DECLARATION.replace(": 4", ": 5")))
    sources = SourceDatabases(node_db)
    try:
        with pytest.raises(SourceError, match="cannot be read"):
            changed.refresh()
        assert exact(first, sources, {"template": "count"}) == [8]
        with pytest.raises(SourceUnavailable, match="different declaration"):
            exact(changed, sources, {"template": "count"})
    finally:
        first.close()
        changed.close()


def test_a_restage_committed_while_a_question_is_read_is_refused(
    node_engine: Engine, tmp_path: Path
) -> None:
    declaration = write_csv(tmp_path)
    answerer = answerer_on(node_engine, declaration)
    answerer.refresh()
    sources = SourceDatabases(node_engine)
    checkouts = 0

    def restage_before_the_read(*_: object) -> None:
        # Checkout 1 is the check before the aggregate, checkout 2 the aggregate's connection.
        nonlocal checkouts
        checkouts += 1
        if checkouts == 2:
            stage(node_engine, declaration)

    event.listen(node_engine, "checkout", restage_before_the_read)
    try:
        with pytest.raises(SourceUnavailable, match="restaged while it was read"):
            exact(answerer, sources, {"template": "count"})
    finally:
        event.remove(node_engine, "checkout", restage_before_the_read)
    assert checkouts > 3  # the restage did run in between
    assert exact(answerer, sources, {"template": "count"}) == [8]
