"""Fixtures shared by every test package.

``postgres_url``: a URL (``str``) to a fresh, empty PostgreSQL database made for one test and
dropped after it, whatever the test did to it. It needs a server: set
``CORDON_TEST_POSTGRES_URL`` to a URL the test run may use to create and drop databases, e.g.
``postgresql+psycopg://postgres@127.0.0.1:5432/test`` (any database on the server will do;
only its connection details are used). When the variable is unset, a test that asks for the
fixture is skipped. Mark such tests ``@pytest.mark.postgres``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool

POSTGRES_URL_ENV = "CORDON_TEST_POSTGRES_URL"


@contextlib.contextmanager
def fresh_postgres_database(base: str) -> Iterator[str]:
    """Create a database with a random name on the server ``base`` points at, yield its URL,
    and drop it afterwards (for fixtures of wider scope than one test)."""
    name = f"cordon_test_{secrets.token_hex(8)}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    quoted = admin.dialect.identifier_preparer.quote(name)
    try:
        with admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {quoted}"))
        try:
            yield make_url(base).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))
    finally:
        admin.dispose()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test: yields its URL, drops it afterwards."""
    base = os.environ.get(POSTGRES_URL_ENV)
    if not base:
        pytest.skip(f"{POSTGRES_URL_ENV} not set: PostgreSQL tests need a server")
    with fresh_postgres_database(base) as url:
        yield url
