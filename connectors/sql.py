"""The SQL source: a mapped table or view read through a SQLAlchemy Core ``select()`` of the
mapped columns, streamed with a server-side cursor (``stream_results`` + ``yield_per``) so
memory stays flat on SQLite and PostgreSQL alike.

No SQL text ever comes from a mapping: table, schema and column names are checked as plain
identifiers when the mapping loads, then against the database's own catalogue here, and the
statement is built from SQLAlchemy constructs that quote them. PostgreSQL sessions are opened
read-only. Error messages show the URL with its password masked.
"""

from __future__ import annotations

import warnings
from collections.abc import Generator
from pathlib import Path

from sqlalchemy import Connection, Engine, column, create_engine, inspect, select, table
from sqlalchemy.exc import NoSuchTableError, SAWarning, SQLAlchemyError
from sqlalchemy.pool import NullPool

from connectors.errors import SourceError
from connectors.mapping_types import DatasetMapping, SqlSource

__all__ = ["check_sql", "sql_rows"]


def check_sql(mapping: DatasetMapping, source: SqlSource) -> None:
    """Connect, and check that the table and every mapped column exist."""
    engine = _engine(source)
    try:
        with engine.connect() as connection:
            _read_only(connection)
            _check_columns(mapping, source, connection)
    except SQLAlchemyError as exc:
        raise _source_error(source, "cannot read the table", exc) from exc
    finally:
        engine.dispose()


def sql_rows(
    mapping: DatasetMapping, source: SqlSource
) -> Generator[tuple[int, dict[str, object]], None, None]:
    """Stream the mapped columns of every row, ``source.batch_size`` rows per fetch."""
    names = mapping.columns()
    mapped = table(source.table, *(column(name) for name in names), schema=source.schema)
    statement = select(*(mapped.c[name] for name in names))
    engine = _engine(source)
    row = 0
    try:
        with engine.connect() as connection:
            _read_only(connection)
            _check_columns(mapping, source, connection)
            streaming = connection.execution_options(
                stream_results=True, yield_per=source.batch_size
            )
            with streaming.execute(statement) as result:
                for row, values in enumerate(result, 1):
                    yield row, dict(zip(names, values, strict=True))
    except SQLAlchemyError as exc:
        # Mid-stream, keep only the error's class: a driver message could quote a value.
        raise SourceError(
            _masked(source),
            f"read failed after row {row} ({type(getattr(exc, 'orig', None) or exc).__name__})",
        ) from exc
    finally:
        engine.dispose()


def _engine(source: SqlSource) -> Engine:
    url = source.url
    if url.get_backend_name() == "sqlite":
        database = url.database
        # SQLite would silently create a missing file; a source must already exist.
        if (
            database
            and database != ":memory:"
            and not database.startswith("file:")
            and not Path(database).is_file()
        ):
            raise SourceError(_masked(source), "no such SQLite database file")
    try:
        return create_engine(url, poolclass=NullPool)
    except (SQLAlchemyError, ImportError) as exc:
        raise _source_error(source, "cannot create a database engine", exc) from exc


def _read_only(connection: Connection) -> None:
    # Must be set before the connection's first statement opens its transaction.
    if connection.dialect.name == "postgresql":
        connection.execution_options(postgresql_readonly=True)


def _check_columns(mapping: DatasetMapping, source: SqlSource, connection: Connection) -> None:
    where = f"{source.schema}.{source.table}" if source.schema else source.table
    with warnings.catch_warnings():
        # Reflection warns about column types it does not know; only names are used here.
        warnings.simplefilter("ignore", SAWarning)
        try:
            found = [
                str(entry["name"])
                for entry in inspect(connection).get_columns(source.table, source.schema)
            ]
        except NoSuchTableError:
            raise mapping.error(
                "source.table", f"no table or view {where!r} in the database"
            ) from None
    if not found:
        raise mapping.error("source.table", f"no table or view {where!r} in the database")
    for key_path, name in mapping.column_refs():
        if name not in found:
            raise mapping.error(
                key_path,
                f"column {name!r} is not in {where!r} (columns: {', '.join(map(repr, found))})",
            )


def _masked(source: SqlSource) -> str:
    return source.url.render_as_string(hide_password=True)


def _source_error(source: SqlSource, what: str, exc: BaseException) -> SourceError:
    cause = getattr(exc, "orig", None) or exc
    detail = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
    return SourceError(
        _masked(source), f"{what}: {type(cause).__name__}" + (f": {detail}" if detail else "")
    )
