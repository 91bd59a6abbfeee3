"""Staging file sources for aggregates: a CSV or JSON Lines dataset is copied into a table of
the node's own database (``aggregate_staged_<dataset>``), so that the exact aggregate can be
pushed down to SQL like any other source. ``cordon aggregate refresh`` restages and starts a
new cache generation.

Staging also bounds contributions once: every row gets its ordinal within its privacy unit
(``cordon_contribution``, in file order), so a query needs no window function and runs at the
speed of a plain ``GROUP BY``. Only the privacy unit and the declared columns are copied; a
value that is not a whole number in an integer column is staged as NULL (counted, clamped
like a 0), and rows without a privacy unit are left out.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    inspect,
)

from connectors.aggregate_mapping import AggregateDeclaration
from connectors.errors import SourceError
from connectors.mapping_types import CsvSource, JsonLinesSource

CONTRIBUTION = "cordon_contribution"
BATCH = 5000
MAX_TEXT = 256
# Beyond every declared bound (10^12), within BIGINT: clamping in SQL does the rest.
MAX_WHOLE = 2**62


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


def staged_table_name(dataset: str) -> str:
    return f"aggregate_staged_{dataset}"


def staged_table(declaration: AggregateDeclaration) -> Table:
    """The staged table's shape (on its own ``MetaData``: it is not part of the migrations)."""
    columns = [
        Column(
            name,
            BigInteger if spec.kind == "integer" else String(MAX_TEXT),
            nullable=True,
        )
        for name, spec in declaration.columns.items()
    ]
    name = staged_table_name(declaration.dataset)
    return Table(
        name,
        MetaData(),
        Column(declaration.privacy_unit, String(MAX_TEXT), nullable=False),
        *columns,
        # No index: nearly every row passes the bound, so a full scan is the right plan.
        Column(CONTRIBUTION, Integer, nullable=False),
    )


def is_staged(engine: Engine, declaration: AggregateDeclaration) -> bool:
    return inspect(engine).has_table(staged_table_name(declaration.dataset))


def stage(engine: Engine, declaration: AggregateDeclaration) -> tuple[int, int, int]:
    """Replace the staged copy of ``declaration``'s file in one transaction; returns
    (rows read, rows staged, rows without a privacy unit)."""
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
            contributions[unit] = ordinal = contributions.get(unit, 0) + 1
            values: dict[str, object] = {declaration.privacy_unit: unit, CONTRIBUTION: ordinal}
            for name, spec in declaration.columns.items():
                raw = row.get(name)
                values[name] = _whole(raw) if spec.kind == "integer" else _text(raw)
            batch.append(values)
            if len(batch) >= BATCH:
                connection.execute(target.insert(), batch)
                staged += len(batch)
                batch = []
        if batch:
            connection.execute(target.insert(), batch)
            staged += len(batch)
    return read, staged, orphans


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


def _whole(value: object) -> int | None:
    number: int | None = None
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str):
        try:
            number = int(value.strip())
        except ValueError:
            return None
    return None if number is None else max(-MAX_WHOLE, min(MAX_WHOLE, number))
