"""Staging file sources for aggregates: a CSV or JSON Lines dataset is copied into a table of
the node's own database (``aggregate_staged_<dataset>``), so that the exact aggregate can be
pushed down to SQL like any other source. ``cordon aggregate refresh`` restages and starts a
new cache generation.

Staging applies the declaration in force once, so that a question pays nothing for it: only
the first ``max_rows_per_unit`` rows of each privacy unit (in file order) are copied, and
integer values are stored already clamped into their declared bounds (a missing or non-whole
value is stored as 0 clamped into the bounds, so it is still counted). A DP count is then a
plain ``COUNT(*)`` and a DP sum a plain ``SUM``. Rows without a privacy unit are left out.
Only the declared columns are copied: the privacy unit (a case or person reference) is read to
bound the rows and never leaves the agency's own file.

Rows staged that way are only right for the declaration they were staged under: a larger
``max_rows_per_unit`` or wider bounds would make the noise too small. So staging records a
fingerprint of the parts of the declaration it applied (``aggregate_staging_state``), in the
same transaction as the rows, and the query side refuses a staged table whose fingerprint is
not the declaration's until ``cordon aggregate refresh`` restages it.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    Engine,
    MetaData,
    String,
    Table,
    delete,
    insert,
    select,
)

from connectors.aggregate_mapping import AggregateColumn, AggregateDeclaration
from connectors.errors import SourceError
from connectors.mapping_types import CsvSource, JsonLinesSource
from gateway.storage.metadata import metadata

BATCH = 5000
MAX_TEXT = 256
# Bumped whenever what a staged row holds changes, so that older staged tables are refused.
STAGING_FORMAT = 3  # 3: the privacy unit is no longer copied

aggregate_staging_state = Table(
    "aggregate_staging_state",
    metadata,
    Column("dataset", String(128), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("staged_at", DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True)
class StagingReport:
    """What ``cordon aggregate refresh`` did to one dataset (``staged`` is False for a SQL
    source, which is read in place: only its cache generation moves)."""

    dataset: str
    staged: bool
    rows_read: int
    rows_staged: int
    rows_without_unit: int
    generation: int

    @property
    def rows_beyond_bound(self) -> int:
        """Rows left out because their unit already had ``max_rows_per_unit`` rows staged."""
        return self.rows_read - self.rows_staged - self.rows_without_unit


def staged_table_name(dataset: str) -> str:
    return f"aggregate_staged_{dataset}"


def staged_table(declaration: AggregateDeclaration) -> Table:
    """The staged table's shape (on its own ``MetaData``: it is not part of the migrations)."""
    columns = [
        Column(name, BigInteger, nullable=False)
        if spec.kind == "integer"
        else Column(name, String(MAX_TEXT), nullable=True)
        for name, spec in declaration.columns.items()
    ]
    name = staged_table_name(declaration.dataset)
    # No index: every staged row counts, so a full scan is the right plan.
    return Table(name, MetaData(), *columns)


def staging_fingerprint(declaration: AggregateDeclaration) -> str:
    """A digest of what staged rows depend on: the privacy unit, ``max_rows_per_unit`` and
    each column's name, type and (for integers) bounds. Public values, the description and
    the source are left out: rows are staged the same whatever they say (a changed source
    is stale data, which a refresh fixes, not a wrong bound)."""
    columns = sorted(
        [name, spec.kind, spec.lower, spec.upper] if spec.kind == "integer" else [name, spec.kind]
        for name, spec in declaration.columns.items()
    )
    applied = {
        "format": STAGING_FORMAT,
        "privacy_unit": declaration.privacy_unit,
        "max_rows_per_unit": declaration.max_rows_per_unit,
        "columns": columns,
    }
    return hashlib.sha256(json.dumps(applied, sort_keys=True).encode()).hexdigest()


def staging_state(connection: Connection, dataset: str) -> tuple[str, datetime] | None:
    """The fingerprint ``dataset`` was last staged under and when (``None``: never staged,
    or staged by a Cordon that did not bound rows when staging)."""
    state = aggregate_staging_state
    row = connection.execute(
        select(state.c.fingerprint, state.c.staged_at).where(state.c.dataset == dataset)
    ).one_or_none()
    return None if row is None else (row.fingerprint, row.staged_at)


def stage(
    engine: Engine,
    declaration: AggregateDeclaration,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> tuple[int, int, int]:
    """Replace the staged copy of ``declaration``'s file, and the fingerprint it was staged
    under, in one transaction; returns (rows read, rows staged, rows without a privacy unit)."""
    source = declaration.source
    if not isinstance(source, CsvSource | JsonLinesSource):
        raise ValueError("only file sources are staged")
    target = staged_table(declaration)
    read = staged = orphans = 0
    contributions: dict[str, int] = {}
    with engine.begin() as connection:
        target.drop(connection, checkfirst=True)
        target.create(connection)
        batch: list[dict[str, object]] = []
        for row in _rows(declaration):
            read += 1
            unit = _text(row.get(declaration.privacy_unit))
            if unit is None:
                orphans += 1
                continue
            contributions[unit] = contributed = contributions.get(unit, 0) + 1
            if contributed > declaration.max_rows_per_unit:
                continue  # counted in the report as read but neither staged nor orphaned
            batch.append(_staged_row(declaration, row))
            if len(batch) >= BATCH:
                connection.execute(target.insert(), batch)
                staged += len(batch)
                batch = []
        if batch:
            connection.execute(target.insert(), batch)
            staged += len(batch)
        _record_fingerprint(connection, declaration, clock())
    return read, staged, orphans


def _staged_row(declaration: AggregateDeclaration, row: dict[str, object]) -> dict[str, object]:
    values: dict[str, object] = {}
    for name, spec in declaration.columns.items():
        raw = row.get(name)
        values[name] = _clamped(raw, spec) if spec.kind == "integer" else _text(raw)
    return values


def _record_fingerprint(
    connection: Connection, declaration: AggregateDeclaration, now: datetime
) -> None:
    state = aggregate_staging_state
    connection.execute(delete(state).where(state.c.dataset == declaration.dataset))
    connection.execute(
        insert(state).values(
            dataset=declaration.dataset,
            fingerprint=staging_fingerprint(declaration),
            staged_at=now,
        )
    )


def _rows(declaration: AggregateDeclaration) -> Iterator[dict[str, object]]:
    source = declaration.source
    if not isinstance(source, CsvSource | JsonLinesSource):
        raise ValueError("only file sources are staged")
    try:
        handle: IO[str] = open(str(source.path), encoding=source.encoding, newline="")
    except OSError as exc:
        raise SourceError(str(source.path), f"cannot open: {exc.strerror}") from exc
    with handle:
        try:
            if isinstance(source, CsvSource):
                yield from csv.DictReader(handle, delimiter=source.delimiter)
                return
            for line in handle:
                if not line.strip():
                    continue
                try:
                    document = json.loads(line)
                except ValueError:
                    continue
                if isinstance(document, dict):
                    yield document
        except (csv.Error, UnicodeDecodeError) as exc:
            raise SourceError(str(source.path), f"cannot be read ({type(exc).__name__})") from exc


def _text(value: object) -> str | None:
    if value is None or isinstance(value, dict | list | bool):
        return None
    text = str(value).strip()
    return text[:MAX_TEXT] if text else None


def _clamped(value: object, spec: AggregateColumn) -> int:
    """``value`` clamped into the column's bounds; a missing or non-whole value counts as 0
    (clamped too): a missing quantity is not a reason to leave a row out of the count that a
    sum's noise is calibrated for."""
    number = _whole(value)
    return max(spec.lower, min(spec.upper, 0 if number is None else number))


def _whole(value: object) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None
