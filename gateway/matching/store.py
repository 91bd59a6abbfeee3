"""SQLAlchemy access to the token index, the fingerprints that make re-indexing incremental,
and the hit references handed to partners for follow-up."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    Date,
    DateTime,
    Engine,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    and_,
    delete,
    func,
    insert,
    select,
    update,
)

from gateway.storage.metadata import metadata

match_tokens = Table(
    "match_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("token", LargeBinary(32), nullable=False),
    Column("epoch", Integer, nullable=False),
    Column("id_type", String(32), nullable=False),
    Column("dataset", String(128), nullable=False),
    Column("record_ref", String(256), nullable=False),
    Column("subject_category", String(32), nullable=False),
    Column("handling_code", String(8), nullable=False),
    Column("recorded_on", Date),
    Index("ix_match_tokens_token_epoch", "token", "epoch"),
    Index("ix_match_tokens_dataset_record_ref", "dataset", "record_ref"),
)

indexed_records = Table(
    "indexed_records",
    metadata,
    Column("dataset", String(128), primary_key=True),
    Column("record_ref", String(256), primary_key=True),
    Column("fingerprint", LargeBinary(32), nullable=False),
    Column("generation", Integer, nullable=False),
)

index_runs = Table(
    "index_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dataset", String(128), nullable=False),
    Column("generation", Integer, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("summary", JSON),
)

hit_references = Table(
    "hit_references",
    metadata,
    Column("reference", String(64), primary_key=True),
    Column("dataset", String(128), primary_key=True),
    Column("record_ref", String(256), primary_key=True),
    Column("partner", String(64), nullable=False),
    Column("id_type", String(32), nullable=False),
    Column("purpose", String(128), nullable=False),
    Column("case_reference", String(256), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

_IN_CHUNK = 500


@dataclass(frozen=True, slots=True)
class IndexedHit:
    token: bytes
    id_type: str
    dataset: str
    record_ref: str
    subject_category: str
    handling_code: str
    recorded_on: date | None


@dataclass(frozen=True)
class HitFilter:
    """What a policy lets a partner's tokens hit: anything else answers as a miss."""

    id_types: frozenset[str]
    datasets: frozenset[str] | None
    subject_categories: frozenset[str]
    handling_codes: frozenset[str]


class MatchStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- indexing -----------------------------------------------------------------------

    def fingerprints(self, dataset: str) -> dict[str, bytes]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(indexed_records.c.record_ref, indexed_records.c.fingerprint).where(
                    indexed_records.c.dataset == dataset
                )
            )
            return {ref: bytes(fp) for ref, fp in rows}

    def next_generation(self, dataset: str) -> int:
        with self.engine.connect() as conn:
            current = conn.execute(
                select(func.max(index_runs.c.generation)).where(index_runs.c.dataset == dataset)
            ).scalar_one()
        return int(current or 0) + 1

    def start_run(self, dataset: str, generation: int, now: datetime) -> int:
        with self.engine.begin() as conn:
            key = conn.execute(
                insert(index_runs).values(dataset=dataset, generation=generation, started_at=now)
            ).inserted_primary_key
            return int(key[0])  # type: ignore[index]

    def finish_run(self, run_id: int, now: datetime, summary: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(index_runs)
                .where(index_runs.c.id == run_id)
                .values(finished_at=now, summary=summary)
            )

    def replace_records(
        self,
        conn: Connection,
        dataset: str,
        was_indexed: Sequence[str],
        token_rows: Sequence[tuple[Any, ...]],
        fingerprint_rows: Sequence[tuple[Any, ...]],
    ) -> None:
        """Within ``conn``'s transaction, drop what was indexed for ``was_indexed`` and write
        the new token and fingerprint rows."""
        _delete_records(conn, dataset, was_indexed)
        if token_rows:
            _insert_rows(conn, "match_tokens", TOKEN_COLUMNS, token_rows)
        if fingerprint_rows:
            _insert_rows(conn, "indexed_records", FINGERPRINT_COLUMNS, fingerprint_rows)

    def remove_records(self, dataset: str, refs: Iterable[str]) -> int:
        with self.engine.begin() as conn:
            return _delete_records(conn, dataset, list(refs))

    def counts(self) -> dict[str, dict[str, int]]:
        """Tokens per dataset and identifier type (for status pages and the CLI)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(match_tokens.c.dataset, match_tokens.c.id_type, func.count()).group_by(
                    match_tokens.c.dataset, match_tokens.c.id_type
                )
            )
            out: dict[str, dict[str, int]] = {}
            for dataset, id_type, n in rows:
                out.setdefault(dataset, {})[id_type] = int(n)
            return out

    # -- matching -----------------------------------------------------------------------

    def lookup(
        self, epoch: int, tokens: Sequence[bytes], hit_filter: HitFilter
    ) -> Iterator[IndexedHit]:
        """Index rows for ``tokens`` that the filter lets through. A filtered-out record and a
        missing one look the same to the caller: both are simply absent."""
        if not hit_filter.id_types or not hit_filter.subject_categories:
            return
        conditions = [
            match_tokens.c.epoch == epoch,
            match_tokens.c.id_type.in_(sorted(hit_filter.id_types)),
            match_tokens.c.subject_category.in_(sorted(hit_filter.subject_categories)),
            match_tokens.c.handling_code.in_(sorted(hit_filter.handling_codes)),
        ]
        if hit_filter.datasets is not None:
            conditions.append(match_tokens.c.dataset.in_(sorted(hit_filter.datasets)))
        columns = (
            match_tokens.c.token,
            match_tokens.c.id_type,
            match_tokens.c.dataset,
            match_tokens.c.record_ref,
            match_tokens.c.subject_category,
            match_tokens.c.handling_code,
            match_tokens.c.recorded_on,
        )
        with self.engine.connect() as conn:
            for chunk in _chunks(list(dict.fromkeys(tokens))):
                rows = conn.execute(
                    select(*columns).where(match_tokens.c.token.in_(chunk), *conditions)
                )
                for row in rows:
                    yield IndexedHit(bytes(row[0]), *row[1:])

    def record_hit_references(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            with self.engine.begin() as conn:
                conn.execute(insert(hit_references), list(rows))

    def hit_reference_targets(self, reference: str) -> list[tuple[str, str]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(hit_references.c.dataset, hit_references.c.record_ref).where(
                    hit_references.c.reference == reference
                )
            )
            return [(d, r) for d, r in rows]


TOKEN_COLUMNS = (
    "token",
    "epoch",
    "id_type",
    "dataset",
    "record_ref",
    "subject_category",
    "handling_code",
    "recorded_on",
)


FINGERPRINT_COLUMNS = ("dataset", "record_ref", "fingerprint", "generation")


def _insert_rows(
    conn: Connection, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """Bulk insert through the driver: the index build is bound by per-row overhead, and
    SQLAlchemy's parameter processing costs more than SQLite's own insert. ``table`` and
    ``columns`` are this module's constants, never input."""
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608 - fixed names
        f"VALUES ({', '.join(mark for _ in columns)})"
    )
    conn.exec_driver_sql(sql, list(rows))


def _delete_records(conn: Connection, dataset: str, refs: Sequence[str]) -> int:
    """Drop the tokens and fingerprints of ``refs``; returns how many records were indexed."""
    removed = 0
    for chunk in _chunks(refs):
        conn.execute(
            delete(match_tokens).where(
                and_(match_tokens.c.dataset == dataset, match_tokens.c.record_ref.in_(chunk))
            )
        )
        removed += conn.execute(
            delete(indexed_records).where(
                and_(indexed_records.c.dataset == dataset, indexed_records.c.record_ref.in_(chunk))
            )
        ).rowcount
    return removed


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), _IN_CHUNK):
        yield items[start : start + _IN_CHUNK]
