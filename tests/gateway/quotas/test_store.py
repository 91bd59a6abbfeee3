"""Quota counters, probing windows and partner blocks: conditional, atomic and correct under
concurrency on SQLite and PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine

from gateway.quotas.store import Charge, QuotaStore

FAR = 2_000_000_000


def charge(amount: int, limit: int, scope: str = "rule:identifiers/day") -> Charge:
    return Charge("police", scope, "2026-03-01", amount, limit, FAR)


def test_a_charge_is_added_while_it_fits_and_refused_when_it_would_not(engine: Engine) -> None:
    store = QuotaStore(engine)
    assert store.charge_all([charge(6, 10)]) is None
    assert store.charge_all([charge(4, 10)]) is None
    refused = charge(1, 10)
    assert store.charge_all([refused]) == refused
    assert store.used("police", "rule:identifiers/day", "2026-03-01") == 10


def test_a_first_charge_above_the_limit_is_refused_and_leaves_no_row(engine: Engine) -> None:
    store = QuotaStore(engine)
    assert store.charge_all([charge(11, 10)]) is not None
    assert store.used("police", "rule:identifiers/day", "2026-03-01") == 0
    assert store.charge_all([charge(1, 0)]) is not None


def test_charges_are_made_all_together_or_not_at_all(engine: Engine) -> None:
    store = QuotaStore(engine)
    day, minute = charge(5, 100), charge(1, 1, scope="rule:requests/minute")
    assert store.charge_all([day, minute]) is None
    assert store.charge_all([day, minute]) == minute
    assert store.used("police", "rule:identifiers/day", "2026-03-01") == 5


def test_concurrent_charges_never_pass_the_limit(engine: Engine) -> None:
    store = QuotaStore(engine)
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda _: store.charge_all([charge(1, 25)]), range(60)))
    assert sum(result is None for result in results) == 25
    assert store.used("police", "rule:identifiers/day", "2026-03-01") == 25


def test_a_probing_window_adds_up_and_is_alerted_exactly_once(engine: Engine) -> None:
    store = QuotaStore(engine)
    store.observe("police", "2026-03-01T10:00", 10, 9, FAR)
    totals = store.observe("police", "2026-03-01T10:00", 5, 5, FAR)
    assert (totals.checked, totals.misses, totals.alerted) == (15, 14, False)
    with ThreadPoolExecutor(max_workers=8) as pool:
        marks = list(pool.map(lambda _: store.mark_alerted("police", "2026-03-01T10:00"), range(8)))
    assert marks.count(True) == 1
    assert store.observe("police", "2026-03-01T10:00", 1, 1, FAR).alerted


def test_blocks_hold_until_they_end_or_are_lifted(engine: Engine) -> None:
    store = QuotaStore(engine)
    store.block("police", 1_000, "probing", 400)
    assert store.blocked_until("police", 999) is not None
    assert store.blocked_until("police", 1_000) is None
    assert [b.partner for b in store.blocks(500)] == ["police"]
    assert store.unblock("police")
    assert store.blocked_until("police", 500) is None


def test_expired_rows_are_swept(engine: Engine) -> None:
    store = QuotaStore(engine)
    store.charge_all([Charge("police", "s", "w", 1, 5, 100)])
    store.observe("police", "w", 1, 1, 100)
    store.block("police", 100, "probing", 50)
    store.forget_expired(101)
    assert store.used("police", "s", "w") == 0
    assert store.observe("police", "w", 1, 0, 200).checked == 1
    assert store.blocks(0) == []
