"""Statements the node database runs the same way on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite


def insert_ignore(connection: Connection, target: Table, values: dict[str, Any]) -> bool:
    """Insert ``values`` unless a row with the same key exists (``ON CONFLICT DO NOTHING``, atomic
    under concurrency on both databases); whether a row was inserted."""
    dialect: Any = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(target).values(values).on_conflict_do_nothing()
    # RETURNING, not rowcount: the PostgreSQL driver reports no rowcount for this insert.
    first_key = next(iter(target.primary_key.columns))
    return connection.execute(statement.returning(first_key)).first() is not None
