"""The SQL source on real SQLite and PostgreSQL databases: the same canonical records as a CSV
of the same data, a plain streamed SELECT of the mapped columns, errors named, memory flat."""

from __future__ import annotations

import csv
import gc
import tracemalloc
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import (
    Column,
    Connection,
    Date,
    Engine,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    create_engine,
    event,
    insert,
    text,
)
from sqlalchemy.pool import NullPool
from sqlalchemy.schema import CreateSchema

from connectors.errors import MappingError, SourceError
from connectors.loading import load_records
from connectors.mapping import DatasetMapping, load_mapping
from connectors.records import LoadReport, Record
from connectors.sources import open_source


def watch_table(schema: str | None = None) -> Table:
    return Table(
        "watch_entries",
        MetaData(schema=schema),
        Column("entry_id", Integer, primary_key=True),
        Column("role", String(20)),
        Column("handling", String(4)),
        Column("listed_on", Date),
        Column("vessel_imo", Integer),
        Column("phone", String(40)),
        Column("full_name", String(100)),
        Column("dob", Date),
        Column("port", String(40)),
        Column("tonnage", Numeric(12, 0)),
    )


ROWS: list[dict[str, Any]] = [
    {"entry_id": 1, "role": "suspect", "handling": "H2", "listed_on": date(2024, 1, 5),
     "vessel_imo": 9074729, "phone": "+31 6 12345678", "full_name": "Émile Zola",
     "dob": date(1970, 4, 2), "port": "Rotterdam", "tonnage": Decimal(52000)},
    {"entry_id": 2, "role": "associate", "handling": "H1", "listed_on": date(2024, 1, 6),
     "vessel_imo": None, "phone": "0612345678", "full_name": None, "dob": None,
     "port": None, "tonnage": None},
    {"entry_id": 3, "role": "minor", "handling": "h3", "listed_on": date(2024, 1, 7),
     "vessel_imo": 9074728, "phone": "+31 6 123", "full_name": None, "dob": None,
     "port": "Hamburg", "tonnage": Decimal(12)},
    {"entry_id": 4, "role": "bystander", "handling": "H1", "listed_on": date(2024, 1, 8),
     "vessel_imo": 9074729, "phone": None, "full_name": None, "dob": None, "port": None,
     "tonnage": None},
    {"entry_id": 5, "role": "suspect", "handling": "H1", "listed_on": None,
     "vessel_imo": 9074729, "phone": None, "full_name": None, "dob": None, "port": None,
     "tonnage": None},
]  # fmt: skip

# The same data as a clerk would export it to CSV: other spellings, same meaning.
CSV_ROWS = [
    ["1", "Suspect", "H2", "2024-01-05", "IMO 9074729", "0031 6 1234 5678", "ZOLA, Emile",
     "1970-04-02", "Rotterdam", "52000"],
    ["2", "associate", "h1", "2024-01-06", "", "06-12345678", "", "", "", ""],
    ["3", "MINOR", "H3", "2024-01-07", "9074728", "+3161 23", "", "", "Hamburg", "12"],
    ["4", "bystander", "H1", "2024-01-08", "9074729", "", "", "", "", ""],
    ["5", "suspect", "H1", "", "9074729", "", "", "", "", ""],
]  # fmt: skip


def mapping_document(source: dict[str, object]) -> dict[str, Any]:
    return {
        "dataset": "watch",
        "source": source,
        "record_ref": "entry_id",
        "subject_category": {"column": "role"},
        "handling_code": {"column": "handling"},
        "recorded_on": {"column": "listed_on"},
        "identifiers": [
            {"type": "vessel", "column": "vessel_imo"},
            {"type": "phone", "column": "phone", "default_region": "NL"},
            {"type": "person", "name_column": "full_name", "date_of_birth_column": "dob"},
        ],
        "attributes": [
            {"name": "port", "column": "port", "type": "string"},
            {"name": "tonnage", "column": "tonnage", "type": "integer"},
        ],
    }


def write_mapping(folder: Path, document: Mapping[str, Any]) -> DatasetMapping:
    path = folder / "watch.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return load_mapping(path)


def create_watch_table(
    url: str, rows: list[dict[str, Any]] = ROWS, schema: str | None = None
) -> None:
    table = watch_table(schema)
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            if schema is not None:
                connection.execute(CreateSchema(schema))
            table.metadata.create_all(connection)
            if rows:
                connection.execute(insert(table), rows)
    finally:
        engine.dispose()


def load(mapping: DatasetMapping) -> tuple[list[Record], LoadReport]:
    with load_records(mapping) as records:
        return list(records), records.report


def csv_records(folder: Path) -> tuple[list[Record], LoadReport]:
    with (folder / "watch.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([column.name for column in watch_table().columns])
        writer.writerows(CSV_ROWS)
    return load(write_mapping(folder, mapping_document({"kind": "csv", "path": "watch.csv"})))


def assert_expected_watch_load(records: list[Record], report: LoadReport) -> None:
    assert [r.record_ref for r in records] == ["1", "2"]
    first = records[0]
    assert first.subject_category == "suspect"
    assert first.handling_code == "H2"
    assert first.recorded_on == date(2024, 1, 5)
    assert [(i.id_type, i.value) for i in first.identifiers] == [
        ("vessel", "IMO9074729"), ("phone", "+31612345678"), ("person", "emile zola|1970-04-02"),
    ]  # fmt: skip
    assert first.attributes == {"port": "Rotterdam", "tonnage": 52000}
    assert (report.rows_read, report.records, report.identifiers) == (5, 2, 4)
    assert (report.rows_rejected, report.fields_rejected) == (3, 2)
    assert report.reasons == Counter({
        "vessel_imo: vessel: check digit does not match": 1,
        "phone: phone: not a possible number (wrong length for its country)": 1,
        "identifiers: no valid identifier": 1,
        "role: unknown subject category; allowed: suspect, witness, victim, minor, associate, "
        "other": 1,
        "listed_on: missing date": 1,
    })  # fmt: skip
    for rejected in report.examples:
        assert "907472" not in rejected.reason and "123" not in rejected.reason


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'watch.db'}"


@dataclass(frozen=True)
class Sent:
    statement: str
    cursor: str
    read_only: bool | None


@pytest.fixture
def statements() -> Iterator[list[Sent]]:
    """Every SQL statement any engine sends while the test runs, with the kind of cursor and
    whether the session was read-only (``None`` where the driver has no such notion)."""
    seen: list[Sent] = []

    def record(conn: Connection, cursor: object, statement: str, *args: object) -> None:
        dbapi = conn.connection.dbapi_connection
        seen.append(Sent(" ".join(statement.split()), type(cursor).__name__,
                         getattr(dbapi, "read_only", None)))  # fmt: skip

    event.listen(Engine, "before_cursor_execute", record)
    yield seen
    event.remove(Engine, "before_cursor_execute", record)


def test_sqlite_source_yields_the_same_records_as_a_csv_of_the_same_data(
    tmp_path: Path, sqlite_url: str
) -> None:
    create_watch_table(sqlite_url)
    mapping = write_mapping(tmp_path, mapping_document(
        {"kind": "sql", "url": "sqlite:///watch.db", "table": "watch_entries"}))  # fmt: skip
    sql_records, sql_report = load(mapping)
    assert_expected_watch_load(sql_records, sql_report)
    from_csv, csv_report = csv_records(tmp_path)
    assert sql_records == from_csv
    assert sql_report.reasons == csv_report.reasons


def test_sql_source_runs_one_plain_select_of_the_mapped_columns(
    tmp_path: Path, sqlite_url: str, statements: list[Sent]
) -> None:
    create_watch_table(sqlite_url)
    mapping = write_mapping(tmp_path, mapping_document(
        {"kind": "sql", "url": sqlite_url, "table": "watch_entries", "batch_size": 2}))  # fmt: skip
    statements.clear()
    rows = list(open_source(mapping))
    assert [row for row, _ in rows] == [1, 2, 3, 4, 5]
    assert rows[0][1]["vessel_imo"] == 9074729
    selects = [sent.statement for sent in statements if sent.statement.startswith("SELECT")]
    assert selects[-1] == (
        "SELECT watch_entries.entry_id, watch_entries.role, watch_entries.handling, "
        "watch_entries.listed_on, watch_entries.vessel_imo, watch_entries.phone, "
        "watch_entries.full_name, watch_entries.dob, watch_entries.port, watch_entries.tonnage "
        "FROM watch_entries"
    )


def test_missing_sql_column_is_a_mapping_error_naming_the_key_path(
    tmp_path: Path, sqlite_url: str
) -> None:
    create_watch_table(sqlite_url)
    document = mapping_document({"kind": "sql", "url": sqlite_url, "table": "watch_entries"})
    document["attributes"] = [{"name": "flag", "column": "flag_state", "type": "string"}]
    with pytest.raises(MappingError) as caught:
        load_records(write_mapping(tmp_path, document))
    assert caught.value.key_path == "attributes[0].column"
    assert "column 'flag_state' is not in 'watch_entries'" in caught.value.problem
    assert "'entry_id', 'role'" in caught.value.problem


def test_missing_sql_table_is_a_mapping_error(tmp_path: Path, sqlite_url: str) -> None:
    create_watch_table(sqlite_url)
    document = mapping_document({"kind": "sql", "url": sqlite_url, "table": "watchlist"})
    with pytest.raises(MappingError) as caught:
        open_source(write_mapping(tmp_path, document))
    assert caught.value.key_path == "source.table"
    assert "no table or view 'watchlist'" in caught.value.problem


def test_missing_sqlite_file_is_a_source_error_and_is_not_created(tmp_path: Path) -> None:
    document = mapping_document({"kind": "sql", "url": "sqlite:///gone.db", "table": "t"})
    with pytest.raises(SourceError, match="no such SQLite database file"):
        load_records(write_mapping(tmp_path, document))
    assert not (tmp_path / "gone.db").exists()


def test_unreachable_database_is_a_source_error_with_the_password_masked(
    tmp_path: Path,
) -> None:
    url = "postgresql+psycopg://cordon:hunter2-secret@127.0.0.1:1/nowhere"
    document = mapping_document({"kind": "sql", "url": url, "table": "watch_entries"})
    with pytest.raises(SourceError) as caught:
        load_records(write_mapping(tmp_path, document))
    assert "hunter2-secret" not in str(caught.value)
    assert "cordon:***@127.0.0.1:1/nowhere" in str(caught.value)


def test_a_view_can_carry_the_join_or_filter_that_a_mapping_may_not(
    tmp_path: Path, sqlite_url: str
) -> None:
    create_watch_table(sqlite_url)
    engine = create_engine(sqlite_url, poolclass=NullPool)
    with engine.begin() as connection:
        connection.execute(text(
            "CREATE VIEW rotterdam_entries AS SELECT * FROM watch_entries WHERE port = 'Rotterdam'"
        ))  # fmt: skip
    engine.dispose()
    document = mapping_document({"kind": "sql", "url": sqlite_url, "table": "rotterdam_entries"})
    records, report = load(write_mapping(tmp_path, document))
    assert [r.record_ref for r in records] == ["1"]
    assert report.rows_read == 1


def test_closing_a_sql_load_early_releases_the_connection(tmp_path: Path, sqlite_url: str) -> None:
    create_watch_table(sqlite_url)
    document = mapping_document({"kind": "sql", "url": sqlite_url, "table": "watch_entries"})
    load_ = load_records(write_mapping(tmp_path, document))
    assert next(iter(load_)).record_ref == "1"
    load_.close()  # a connection left open would raise ResourceWarning (an error here)
    gc.collect()
    assert load_.report.rows_read == 1


def peak_sqlite_load_memory(folder: Path, rows: int) -> tuple[int, int]:
    url = f"sqlite:///{folder / 'generated.db'}"
    generated = Table(
        "generated",
        MetaData(),
        Column("ref", Integer, primary_key=True),
        Column("email", String(60)),
        Column("value", Integer),
    )
    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as connection:
        generated.metadata.create_all(connection)
        connection.execute(
            insert(generated),
            [{"ref": i, "email": f"user{i}@example.org", "value": i % 997} for i in range(rows)],
        )
    engine.dispose()
    mapping = write_mapping(folder, {
        "dataset": "generated",
        "source": {"kind": "sql", "url": url, "table": "generated"},
        "record_ref": "ref",
        "subject_category": {"value": "suspect"},
        "handling_code": {"value": "H2"},
        "identifiers": [{"type": "email", "column": "email"}],
        "attributes": [{"name": "value", "column": "value", "type": "integer"}],
    })  # fmt: skip
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        with load_records(mapping) as records:
            count = sum(1 for _ in records)
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    return count, peak


def test_sqlite_load_memory_does_not_grow_with_row_count(tmp_path: Path) -> None:
    (tmp_path / "small").mkdir()
    (tmp_path / "large").mkdir()
    small_rows, small_peak = peak_sqlite_load_memory(tmp_path / "small", 10_000)
    large_rows, large_peak = peak_sqlite_load_memory(tmp_path / "large", 100_000)
    assert (small_rows, large_rows) == (10_000, 100_000)
    # Loose bound, as for CSV: 10x the rows may cost at most 1.5x the peak plus 256 KiB of
    # noise. Keeping even 4 bytes per row would add 360 KiB over the extra 90,000 rows and
    # fail. (Emails, because the vocabulary memoises phone numbers in a bounded cache that a
    # 10,000-row run would not fill.)
    assert large_peak < small_peak * 1.5 + 256 * 1024, (small_peak, large_peak)


# -- PostgreSQL ----------------------------------------------------------------------------


@pytest.mark.postgres
def test_postgres_source_yields_the_same_records_as_a_csv_of_the_same_data(
    tmp_path: Path, postgres_url: str
) -> None:
    create_watch_table(postgres_url, schema="intake")
    document = mapping_document({"kind": "sql", "url": postgres_url, "table": "watch_entries",
                                 "schema": "intake", "batch_size": 2})  # fmt: skip
    sql_records, sql_report = load(write_mapping(tmp_path, document))
    assert_expected_watch_load(sql_records, sql_report)
    from_csv, _ = csv_records(tmp_path)
    assert sql_records == from_csv


@pytest.mark.postgres
def test_postgres_streams_with_a_server_side_cursor_in_a_read_only_session(
    tmp_path: Path, postgres_url: str, statements: list[Sent]
) -> None:
    create_watch_table(postgres_url)
    document = mapping_document({"kind": "sql", "url": postgres_url, "table": "watch_entries"})
    statements.clear()
    records, _ = load(write_mapping(tmp_path, document))
    assert len(records) == 2
    select = [sent for sent in statements if sent.statement.startswith("SELECT watch_entries")]
    assert select == [Sent(select[0].statement, "ServerCursor", True)]


@pytest.mark.postgres
def test_postgres_missing_column_is_a_mapping_error(tmp_path: Path, postgres_url: str) -> None:
    create_watch_table(postgres_url, rows=[])
    document = mapping_document({"kind": "sql", "url": postgres_url, "table": "watch_entries"})
    document["record_ref"] = "Entry_ID"
    with pytest.raises(MappingError) as caught:
        open_source(write_mapping(tmp_path, document))
    assert caught.value.key_path == "record_ref"
    assert "column 'Entry_ID' is not in 'watch_entries'" in caught.value.problem
