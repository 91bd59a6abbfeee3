"""A process killed with SIGKILL between reserving a charge and releasing the answer keeps the
charge: the reservation is committed before any noisy value exists, and nothing refunds it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from gateway.aggregates.ledger import GLOBAL, PrivacyLedger, privacy_charges
from gateway.storage.database import open_engine, upgrade
from tests.gateway.aggregates.conftest import NOW

# Reserve, say so, then wait to be killed where the noisy answer would be computed.
RESERVE_THEN_HANG = """
import sys, time
from datetime import datetime
from gateway.aggregates.ledger import Budget, PrivacyLedger
from gateway.storage.database import open_engine
ledger = PrivacyLedger(open_engine(sys.argv[1]), lambda: datetime.fromisoformat(sys.argv[2]))
budget = Budget.in_rho("police", "seizures", 0.5, 1.0, "month", 2.0, "month")
charge = ledger.reserve(budget, 300_000_000, "doomed")
print(charge.id, flush=True)
time.sleep(120)
"""


def reserve_then_kill(url: str) -> int:
    process = subprocess.Popen(
        [sys.executable, "-c", RESERVE_THEN_HANG, url, NOW.isoformat()],
        stdout=subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[3],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line, "the child died before reserving"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
    assert process.returncode == -signal.SIGKILL
    return int(line)


def assert_charge_kept(engine: Engine, charge_id: int) -> None:
    ledger = PrivacyLedger(engine, lambda: NOW)
    assert ledger.spent("police", "seizures", "2024-06") == 300_000_000
    assert ledger.spent(GLOBAL, "seizures", "2024-06") == 300_000_000
    with engine.connect() as connection:
        state = connection.execute(
            select(privacy_charges.c.state).where(privacy_charges.c.id == charge_id)
        ).scalar_one()
    assert state == "reserved"


def test_sigkill_between_reserve_and_release_keeps_the_charge_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'node.db'}"
    engine = open_engine(url)
    upgrade(engine)
    try:
        assert_charge_kept(engine, reserve_then_kill(url))
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_sigkill_between_reserve_and_release_keeps_the_charge_on_postgres(
    postgres_url: str,
) -> None:
    engine = open_engine(postgres_url)
    upgrade(engine)
    try:
        assert_charge_kept(engine, reserve_then_kill(postgres_url))
    finally:
        engine.dispose()
