"""A migrated node database on SQLite and, when CORDON_TEST_POSTGRES_URL is set, PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from gateway.storage.database import open_engine, upgrade


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'node.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    opened = open_engine(url, pool_size=25)
    upgrade(opened)
    try:
        yield opened
    finally:
        opened.dispose()
