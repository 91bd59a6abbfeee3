"""Sources: stream the rows a mapping names out of a CSV file, a JSON Lines file or a SQL table,
one ``(row number, {column: raw value})`` pair at a time, so memory stays flat however large
the dataset is. ``connectors.loading`` turns those rows into canonical records.

``open_source`` checks the source before it returns (the file opens, the CSV header or the SQL
table has every mapped column), so a wrong mapping fails at once with a ``MappingError`` naming
the key path. The rows themselves are read lazily; the file or connection is held only while
the stream is being iterated and is released when it is exhausted or closed.

Row numbers are 1-based: the data row after the header for CSV (blank lines skipped), the
line number for JSON Lines, the position in the result for SQL. A row that cannot be read at
all (a malformed JSON line, a CSV row with the wrong number of fields) is passed to
``on_malformed`` with a reason and skipped; the stream goes on.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Generator, Iterator
from functools import partial
from pathlib import Path
from typing import IO

from connectors.errors import SourceError
from connectors.mapping_types import CsvSource, DatasetMapping, JsonLinesSource
from connectors.sql import check_sql, sql_rows

__all__ = ["MalformedRowHandler", "Row", "open_source"]

Row = tuple[int, dict[str, object]]
MalformedRowHandler = Callable[[int, str], None]
"""Called with the row number and a reason (never the row's content) for an unreadable row."""


def open_source(
    mapping: DatasetMapping, *, on_malformed: MalformedRowHandler | None = None
) -> Generator[Row, None, None]:
    """Check the mapping's source, then return a lazy stream of ``(row, values)``.

    ``values`` has one entry per column the mapping reads (``DatasetMapping.columns()``),
    holding the raw cell: text for CSV, any JSON value (or ``None``, or a list gathered along a
    dotted path) for JSON Lines, the database's Python value for SQL. Unreadable rows go to
    ``on_malformed`` (ignored when it is ``None``).
    """
    report = on_malformed if on_malformed is not None else _ignore
    source = mapping.source
    if isinstance(source, CsvSource):
        with _open_text(source.path, source.encoding) as handle:
            _csv_columns(mapping, source, csv.reader(handle, delimiter=source.delimiter))
        return _csv_rows(mapping, source, report)
    if isinstance(source, JsonLinesSource):
        with _open_text(source.path, source.encoding):
            pass
        return _jsonl_rows(mapping, source, report)
    check_sql(mapping, source)
    return sql_rows(mapping, source)


def _ignore(row: int, reason: str) -> None:
    return None


def _open_text(path: Path, encoding: str) -> IO[str]:
    try:
        return open(str(path), encoding=encoding, newline="")
    except OSError as exc:
        raise SourceError(str(path), f"cannot open: {exc.strerror or type(exc).__name__}") from exc


# -- CSV ---------------------------------------------------------------------------------------


def _csv_columns(
    mapping: DatasetMapping, source: CsvSource, reader: Iterator[list[str]]
) -> tuple[int, list[tuple[str, int]]]:
    """Read the header; return its width and, per mapped column, the cell index."""
    try:
        header = next(reader, None)
    except UnicodeDecodeError as exc:
        raise SourceError(
            str(source.path), f"not valid {source.encoding} near the start of the file"
        ) from exc
    except csv.Error as exc:
        raise SourceError(str(source.path), "the header row is not valid CSV") from exc
    if not header:
        raise SourceError(str(source.path), "empty file: expected a header row")
    names = [name.strip() for name in header]
    indexes: list[tuple[str, int]] = []
    for key_path, column in mapping.column_refs():
        count = names.count(column)
        if count == 0:
            raise mapping.error(
                key_path,
                f"column {column!r} is not in the CSV header of "
                f"{source.path.name} (columns: {', '.join(map(repr, names))})",
            )
        if count > 1:
            raise mapping.error(
                key_path,
                f"column {column!r} appears {count} times in the CSV header of {source.path.name}",
            )
        indexes.append((column, names.index(column)))
    return len(header), list(dict.fromkeys(indexes))


def _csv_rows(
    mapping: DatasetMapping, source: CsvSource, on_malformed: MalformedRowHandler
) -> Generator[Row, None, None]:
    with _open_text(source.path, source.encoding) as handle:
        reader = csv.reader(handle, delimiter=source.delimiter)
        width, indexes = _csv_columns(mapping, source, reader)
        row = 0
        while True:
            try:
                for cells in reader:
                    if not cells:
                        continue  # a blank line
                    row += 1
                    if len(cells) != width:
                        on_malformed(row, f"has {len(cells)} fields, the header has {width}")
                        continue
                    yield row, {column: cells[index] for column, index in indexes}
                return
            except csv.Error:
                row += 1
                on_malformed(row, "not valid CSV")
            except UnicodeDecodeError as exc:
                raise SourceError(
                    str(source.path), f"not valid {source.encoding} after data row {row}"
                ) from exc
            except OSError as exc:
                raise SourceError(str(source.path), f"read failed after data row {row}") from exc


# -- JSON Lines --------------------------------------------------------------------------------


def _jsonl_rows(
    mapping: DatasetMapping, source: JsonLinesSource, on_malformed: MalformedRowHandler
) -> Generator[Row, None, None]:
    getters = [(column, _path_getter(column)) for column in mapping.columns()]
    line_no = 0
    with _open_text(source.path, source.encoding) as handle:
        try:
            for line_no, line in enumerate(handle, 1):
                if not line or line.isspace():
                    continue
                try:
                    document = json.loads(line)
                except (ValueError, RecursionError):
                    on_malformed(line_no, "not valid JSON")
                    continue
                if not isinstance(document, dict):
                    on_malformed(line_no, "not a JSON object")
                    continue
                yield line_no, {column: get(document) for column, get in getters}
        except UnicodeDecodeError as exc:
            raise SourceError(
                str(source.path), f"not valid {source.encoding} after line {line_no}"
            ) from exc
        except OSError as exc:
            raise SourceError(str(source.path), f"read failed after line {line_no}") from exc


def _path_getter(path: str) -> Callable[[dict[str, object]], object]:
    parts = tuple(path.split("."))
    if len(parts) == 1:
        return partial(_get, key=path)
    return partial(_dig, parts=parts)


def _get(document: dict[str, object], key: str) -> object:
    return document.get(key)


def _dig(value: object, parts: tuple[str, ...]) -> object:
    """Follow ``parts`` through nested objects; a list on the way yields every item's value."""
    for index, part in enumerate(parts):
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list):
            found: list[object] = []
            for item in value:
                sub = _dig(item, parts[index:])
                if isinstance(sub, list):
                    found.extend(sub)
                elif sub is not None:
                    found.append(sub)
            return found
        else:
            return None
    return value
