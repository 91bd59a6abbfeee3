"""Retention: old entries go, their leaf hashes stay; what remains, with the checkpoints,
still verifies, proofs still work, and the pruning is itself an entry of the log."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from crypto.merkle import verify_consistency, verify_inclusion
from gateway.audit.search import EntryFilter, search
from gateway.audit.service import AuditLog
from gateway.audit.verify import verify_export
from tests.gateway.audit.conftest import START, Clock, event, export_to


def _daily(log: AuditLog, days: int) -> None:
    for day in range(days):
        log.append(event(day, recorded_at=START + timedelta(days=day)))
        if (day + 1) % 10 == 0:
            log.issue_checkpoint()


def test_pruning_removes_old_entries_and_logs_itself(audit_log: AuditLog, clock: Clock) -> None:
    _daily(audit_log, 30)
    clock.now = START + timedelta(days=40)
    outcome = audit_log.prune(25, user="dpo")
    assert (outcome.pruned_through, outcome.removed, outcome.entry_seq) == (15, 15, 31)
    found, _ = search(audit_log.store, EntryFilter())
    assert [e["seq"] for e in found][:2] == [16, 17]
    record = found[-1]
    assert record["query_type"] == "retention-prune" and record["requester_user"] == "dpo"
    assert record["outcome"]["pruned_through_seq"] == 15
    assert audit_log.prune(25, user="dpo").removed == 0


def test_what_remains_after_pruning_still_verifies_offline(
    tmp_path: Path, audit_log: AuditLog, clock: Clock, key: Ed25519PrivateKey
) -> None:
    _daily(audit_log, 30)
    clock.now = START + timedelta(days=40)
    audit_log.prune(25, user="dpo")
    path = export_to(audit_log, tmp_path / "after.jsonl", key)
    report = verify_export(path, key.public_key())
    assert report.findings == []
    assert (report.first_seq, report.last_seq) == (16, 31)
    assert 10 in [c["size"] for c in report.checkpoints]  # from before the pruning, linked

    lines = path.read_bytes().split(b"\n")
    i = next(i for i, line in enumerate(lines) if b'"kind":"prefix"' in line)
    prefix = json.loads(lines[i])
    prefix["hashes"][0] = prefix["hashes"][1]
    lines[i] = json.dumps(prefix).encode()
    path.write_bytes(b"\n".join(lines))
    assert verify_export(path, key.public_key()).findings


def test_proofs_still_hold_for_pruned_and_remaining_entries(
    audit_log: AuditLog, clock: Clock
) -> None:
    _daily(audit_log, 30)
    before = audit_log.checkpoints.at_most(10)
    assert before is not None and before.size == 10
    clock.now = START + timedelta(days=40)
    audit_log.prune(25, user="dpo")
    latest = audit_log.current_checkpoint().signed.checkpoint
    for seq in (3, 20):
        proof = audit_log.inclusion(seq, latest.size)
        assert (proof.entry is None) == (seq <= 15)
        verify_inclusion(proof.leaf_hash, seq - 1, latest.size, proof.proof, latest.root_hash)
    old = before.signed.checkpoint
    verify_consistency(
        old.size,
        latest.size,
        old.root_hash,
        latest.root_hash,
        audit_log.consistency(old.size, latest.size),
    )
