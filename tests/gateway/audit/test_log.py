"""The log itself: canonical entries, dense durable appends (group-committed), the tree state
kept in step with the entries, signed checkpoints and the proofs served against them."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import column, insert, select, table
from sqlalchemy.exc import IntegrityError

from crypto.checkpoint import verify_checkpoint
from crypto.merkle import (
    InvalidProof,
    leaf_hash,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)
from crypto.signed import canonical_json
from gateway.audit.entry import assemble, entry_document, entry_parts, leaf_bytes
from gateway.audit.service import AuditLog, log_origin
from gateway.audit.store import audit_entries, audit_leaves
from gateway.audit.writer import GroupCommitWriter
from gateway.errors import NotFound
from gateway.storage.database import open_engine, upgrade
from tests.gateway.audit.conftest import Clock, event, fill


def stored_leaves(log: AuditLog) -> list[bytes]:
    with log.store.engine.connect() as conn:
        return [
            (r[0] or "").encode()
            for r in conn.execute(select(audit_entries.c.leaf).order_by(audit_entries.c.seq))
        ]


def test_the_leaf_is_the_canonical_document_with_floats_as_exact_decimal_strings() -> None:
    document = entry_document(7, event(3, rho_charged=0.1, outcome={"scale": 1.5, "n": 2}))
    data = leaf_bytes(document)
    parsed = json.loads(data)
    assert parsed["seq"] == 7 and parsed["kind"] == "entry"
    assert parsed["rho_charged"] == "0.1" and parsed["latency_ms"] == "13.0"
    assert parsed["outcome"] == {"n": 2, "scale": "1.5"}
    assert data == json.dumps(parsed, sort_keys=True, separators=(",", ":")).encode()


def test_times_are_written_in_utc_whatever_zone_or_naivety_they_came_in() -> None:
    cet = timezone(timedelta(hours=1))
    aware = entry_document(1, event(0, recorded_at=datetime(2026, 3, 1, 9, 0, tzinfo=cet)))
    naive = entry_document(1, event(0, recorded_at=datetime(2026, 3, 1, 8, 0)))
    assert aware["time"] == naive["time"] == "2026-03-01T08:00:00.000000Z"


def test_text_no_database_or_canonical_json_accepts_is_replaced_not_refused(
    audit_log: AuditLog,
) -> None:
    seq = audit_log.append(event(0, requester_user="bad\x00user\ud800", case_reference="x"))
    stored = json.loads(audit_log.store.leaf_of(seq) or b"")
    assert stored["requester_user"] == "bad\ufffduser\ufffd"


def test_appends_get_dense_sequence_numbers_and_the_tree_matches_the_entries(
    audit_log: AuditLog,
) -> None:
    seqs = [audit_log.append(event(i)) for i in range(10)]
    assert seqs == list(range(1, 11))
    leaves = stored_leaves(audit_log)
    assert [json.loads(leaf)["seq"] for leaf in leaves] == seqs
    head = audit_log.head()
    assert head.size == 10
    assert head.root == root_from_leaf_hashes([leaf_hash(leaf) for leaf in leaves])


def test_concurrent_appenders_share_commits_and_keep_one_gap_free_tree(
    audit_log: AuditLog,
) -> None:
    acknowledged: list[int] = []
    lock = threading.Lock()

    def work(worker: int) -> None:
        for i in range(40):
            seq = audit_log.append(event(worker * 100 + i))
            with lock:
                acknowledged.append(seq)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(acknowledged) == list(range(1, 321))
    leaves = stored_leaves(audit_log)
    assert audit_log.head().root == root_from_leaf_hashes([leaf_hash(x) for x in leaves])


def test_an_entry_the_database_refuses_fails_only_its_own_caller() -> None:
    committed: list[list[str]] = []

    def commit(batch: list[str]) -> list[int]:
        if "poison" in batch:
            raise ValueError("refused")
        committed.append(list(batch))
        return [len(committed) * 100 + i for i in range(len(batch))]

    writer = GroupCommitWriter(commit)  # type: ignore[arg-type]
    results: dict[str, object] = {}
    gate = threading.Barrier(7)

    def append(name: str) -> None:
        gate.wait()
        try:
            results[name] = writer.submit(name)  # type: ignore[arg-type]
        except ValueError as exc:
            results[name] = exc

    names = [f"good{i}" for i in range(6)] + ["poison"]
    threads = [threading.Thread(target=append, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    writer.close()
    assert isinstance(results.pop("poison"), ValueError)
    assert len(set(results.values())) == 6
    assert sorted(n for batch in committed for n in batch) == sorted(names[:-1])


def test_a_checkpoint_is_signed_by_the_node_and_commits_to_the_current_tree(
    audit_log: AuditLog, key: Ed25519PrivateKey, clock: Clock
) -> None:
    fill(audit_log, 5)
    stored = audit_log.issue_checkpoint()
    checkpoint = verify_checkpoint(
        stored.signed.to_text(), key.public_key(), origin=log_origin("police")
    )
    assert (checkpoint.size, checkpoint.root_hash) == (5, audit_log.head().root)
    assert checkpoint.timestamp == int(clock.now.timestamp())


def test_an_idle_log_still_gets_fresh_checkpoints(audit_log: AuditLog, clock: Clock) -> None:
    first = audit_log.issue_checkpoint()
    clock.advance(seconds=60)
    second = audit_log.issue_checkpoint()
    assert first.size == second.size == 0
    assert second.signed.checkpoint.timestamp == first.signed.checkpoint.timestamp + 60


@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_served_proofs_verify_against_checkpoints(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    from crypto.keys import generate_signing_key

    size = data.draw(st.integers(min_value=1, max_value=70), label="size")
    folder = tmp_path_factory.mktemp("proofs")
    engine = open_engine(f"sqlite:///{folder / 'node.db'}")
    upgrade(engine)
    log = AuditLog(engine, agency="police", signing_key=generate_signing_key(), clock=Clock())
    try:
        old = data.draw(st.integers(min_value=0, max_value=size), label="old")
        fill(log, old)
        old_checkpoint = log.issue_checkpoint().signed.checkpoint
        fill(log, size - old, start=old)
        new_checkpoint = log.issue_checkpoint().signed.checkpoint
        seq = data.draw(st.integers(min_value=1, max_value=size), label="seq")
        proof = log.inclusion(seq)
        verify_inclusion(proof.leaf_hash, seq - 1, size, proof.proof, new_checkpoint.root_hash)
        assert proof.entry is not None and leaf_hash(proof.entry) == proof.leaf_hash
        verify_consistency(
            old,
            size,
            old_checkpoint.root_hash,
            new_checkpoint.root_hash,
            log.consistency(old, size),
        )
        if size > 1:
            with pytest.raises(InvalidProof):
                verify_inclusion(
                    proof.leaf_hash, seq % size, size, proof.proof, new_checkpoint.root_hash
                )
    finally:
        log.close()
        engine.dispose()


def test_proofs_are_refused_for_trees_the_log_never_had(audit_log: AuditLog) -> None:
    fill(audit_log, 3)
    with pytest.raises(NotFound):
        audit_log.inclusion(4, 3)
    with pytest.raises(NotFound):
        audit_log.consistency(1, 9)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("postgres_url"))
    return f"sqlite:///{tmp_path / 'old.db'}"


def test_entries_from_before_the_tree_existed_become_its_first_leaves(any_database: str) -> None:
    engine = open_engine(any_database)
    upgrade(engine, "0001")
    rows = []
    for seq, i in ((3, 0), (7, 1), (8, 2)):  # sequences with gaps, as PostgreSQL leaves them
        e = event(i)
        rows.append(
            {
                "seq": seq,
                "recorded_at": e.recorded_at,
                "channel": e.channel,
                "requester_agency": e.requester_agency,
                "requester_user": e.requester_user,
                "query_type": e.query_type,
                "identifier_types": e.identifier_types,
                "identifier_count": e.identifier_count,
                "decision": e.decision,
                "rho_charged": e.rho_charged,
                "latency_ms": e.latency_ms,
                "outcome": e.outcome,
                "signatures": e.signatures,
                "purpose": e.purpose,
                "case_reference": e.case_reference,
                "rule_id": e.rule_id,
                "policy_version": e.policy_version,
            }
        )
    # The spine's table, which had no leaf column.
    spine = table(
        "audit_entries",
        *(column(c.name, c.type) for c in audit_entries.columns if c.name != "leaf"),
    )
    with engine.begin() as conn:
        conn.execute(insert(spine), rows)
    upgrade(engine)
    log = AuditLog(engine, agency="police")
    try:
        leaves = stored_leaves(log)
        assert [json.loads(x)["seq"] for x in leaves] == [1, 2, 3]
        assert [json.loads(x)["outcome"]["jti"] for x in leaves] == ["jti-0", "jti-1", "jti-2"]
        assert log.head().size == 3
        assert log.head().root == root_from_leaf_hashes([leaf_hash(x) for x in leaves])
        assert log.append(event(9)) == 4
        with engine.connect() as conn:
            assert conn.execute(select(audit_leaves.c.idx)).scalars().all() == [0, 1, 2, 3]
    finally:
        log.close()
        engine.dispose()


def test_a_failed_append_changes_neither_the_entries_nor_the_tree(audit_log: AuditLog) -> None:
    fill(audit_log, 2)
    before = audit_log.head()
    with audit_log.store.engine.begin() as conn:
        conn.execute(insert(audit_leaves).values(idx=2, leaf_hash=bytes(32)))  # in the way
    with pytest.raises(IntegrityError):
        audit_log.append(event(2))
    assert audit_log.head() == before
    assert len(stored_leaves(audit_log)) == 2


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
)


@settings(max_examples=200, deadline=None)
@given(outcome=st.dictionaries(st.text(), json_values, max_size=4), user=st.text())
def test_the_leaf_is_exactly_the_canonical_json_of_the_document(
    outcome: dict[str, object], user: str
) -> None:
    e = event(0, outcome=outcome, requester_user=user)
    document = entry_document(1, e)
    assert leaf_bytes(document) == canonical_json(document)
    _document, head, tail = entry_parts(e)
    assert assemble(head, 1, tail) == canonical_json(document)
