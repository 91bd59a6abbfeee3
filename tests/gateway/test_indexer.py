"""The token index: built from canonical records, refreshed incrementally, pruned by
retention, and never holding a canonical value."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from connectors.records import Identifier, Record
from crypto.tokens import MatchKeyring
from gateway.matching.indexer import Indexer
from gateway.matching.store import HitFilter, MatchStore, match_tokens
from gateway.storage.database import open_engine, upgrade

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
SECRET = bytes(range(32))
EVERYTHING = HitFilter(
    id_types=frozenset({"phone", "email"}),
    datasets=None,
    subject_categories=frozenset({"suspect", "witness", "minor"}),
    handling_codes=frozenset({"H0", "H1", "H2", "H3"}),
)


def record(ref: str, *idents: tuple[str, str], recorded: date = date(2026, 1, 5)) -> Record:
    return Record(
        dataset="persons",
        record_ref=ref,
        identifiers=tuple(Identifier(t, v) for t, v in idents),
        attributes={},
        subject_category="suspect",
        handling_code="H1",
        recorded_on=recorded,
    )


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = open_engine(f"sqlite:///{tmp_path / 'node.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


def build(
    engine: Engine, epochs: tuple[int, ...] = (1,)
) -> tuple[Indexer, MatchStore, MatchKeyring]:
    store = MatchStore(engine)
    keyring = MatchKeyring(SECRET, 1)
    return Indexer(store, keyring, epochs, lambda: NOW), store, keyring


def token_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(match_tokens)).scalar_one())


def hits(store: MatchStore, keyring: MatchKeyring, id_type: str, value: str) -> list[str]:
    token = keyring.token(id_type, 1, value).value
    return sorted(h.record_ref for h in store.lookup(1, [token], EVERYTHING))


def test_a_record_is_found_by_the_token_of_each_identifier(engine: Engine) -> None:
    indexer, store, keyring = build(engine)
    summary = indexer.index_dataset(
        "persons", [record("r1", ("phone", "+31612345678"), ("email", "a@b.example"))]
    )
    assert (summary.records_indexed, summary.identifiers_indexed) == (1, 2)
    assert summary.by_type == {"email": 1, "phone": 1}
    assert hits(store, keyring, "phone", "+31612345678") == ["r1"]
    assert hits(store, keyring, "email", "a@b.example") == ["r1"]
    assert hits(store, keyring, "email", "other@b.example") == []


def test_the_same_value_under_another_type_does_not_match(engine: Engine) -> None:
    indexer, store, keyring = build(engine)
    indexer.index_dataset("persons", [record("r1", ("phone", "+31612345678"))])
    token = keyring.token("email", 1, "+31612345678").value
    assert list(store.lookup(1, [token], EVERYTHING)) == []


def test_a_refresh_rewrites_only_changed_records_and_drops_vanished_ones(engine: Engine) -> None:
    indexer, store, keyring = build(engine)
    first = [record("r1", ("phone", "+31611111111")), record("r2", ("phone", "+31622222222"))]
    indexer.index_dataset("persons", first)
    second = [record("r1", ("phone", "+31611111111")), record("r3", ("phone", "+31633333333"))]
    summary = indexer.index_dataset("persons", second)
    assert summary.generation == 2
    assert (summary.records_unchanged, summary.records_indexed, summary.records_removed) == (
        1,
        1,
        1,
    )
    assert hits(store, keyring, "phone", "+31622222222") == []
    assert hits(store, keyring, "phone", "+31633333333") == ["r3"]
    assert token_count(engine) == 2


def test_a_changed_identifier_replaces_the_old_token(engine: Engine) -> None:
    indexer, store, keyring = build(engine)
    indexer.index_dataset("persons", [record("r1", ("phone", "+31611111111"))])
    indexer.index_dataset("persons", [record("r1", ("phone", "+31699999999"))])
    assert hits(store, keyring, "phone", "+31611111111") == []
    assert hits(store, keyring, "phone", "+31699999999") == ["r1"]
    assert token_count(engine) == 1


def test_records_past_retention_leave_the_index(engine: Engine) -> None:
    indexer, store, keyring = build(engine)
    indexer.index_dataset(
        "persons", [record("old", ("phone", "+31611111111"), recorded=date(2020, 1, 1))]
    )
    assert hits(store, keyring, "phone", "+31611111111") == ["old"]
    summary = indexer.index_dataset(
        "persons",
        [record("old", ("phone", "+31611111111"), recorded=date(2020, 1, 1))],
        max_age_days=365,
    )
    assert (summary.records_expired, summary.records_removed) == (1, 1)
    assert hits(store, keyring, "phone", "+31611111111") == []


def test_a_duplicate_record_reference_is_counted_and_the_first_kept(engine: Engine) -> None:
    indexer, store, keyring = build(engine)
    summary = indexer.index_dataset(
        "persons",
        [record("r1", ("phone", "+31611111111")), record("r1", ("phone", "+31622222222"))],
    )
    assert summary.duplicate_refs == 1
    assert hits(store, keyring, "phone", "+31611111111") == ["r1"]
    assert hits(store, keyring, "phone", "+31622222222") == []


def test_during_a_key_rotation_both_epochs_are_indexed(engine: Engine) -> None:
    indexer, store, keyring = build(engine, epochs=(1, 2))
    indexer.index_dataset("persons", [record("r1", ("phone", "+31611111111"))])
    for epoch in (1, 2):
        token = keyring.token("phone", epoch, "+31611111111").value
        assert [h.record_ref for h in store.lookup(epoch, [token], EVERYTHING)] == ["r1"]
    assert token_count(engine) == 2


def test_the_index_never_stores_the_canonical_value(engine: Engine, tmp_path: Path) -> None:
    indexer, _, _ = build(engine)
    indexer.index_dataset("persons", [record("r1", ("email", "someone@agency.example"))])
    engine.dispose()
    blob = b"".join(p.read_bytes() for p in tmp_path.glob("node.db*"))
    assert b"someone@agency.example" not in blob
    assert b"someone" not in blob
