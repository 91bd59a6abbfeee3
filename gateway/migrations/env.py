"""Alembic environment: runs migrations on the engine the node hands in (never one built
from a URL in an ini file), so the same code serves SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from gateway.storage.metadata import metadata

engine = context.config.attributes.get("engine")
if not isinstance(engine, Engine):
    raise RuntimeError("Cordon migrations must be run through gateway.storage.database.upgrade")

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
