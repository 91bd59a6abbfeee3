"""Durability and concurrency with real processes: an appender killed with SIGKILL at random
moments loses no acknowledged entry and leaves a tree that verifies; two processes appending
to one PostgreSQL database build one gap-free, consistent tree."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from crypto.checkpoint import verify_checkpoint
from crypto.keys import generate_signing_key, private_key_to_pem
from crypto.merkle import leaf_hash, root_from_leaf_hashes
from gateway.audit.checkpoints import audit_checkpoints
from gateway.audit.service import AuditLog
from gateway.audit.store import audit_entries, audit_leaves
from gateway.audit.verify import verify_export
from gateway.storage.database import open_engine, upgrade
from tests.gateway.audit.conftest import export_to

ROOT = Path(__file__).resolve().parents[3]


def appender(
    url: str, name: str, threads: int, count: int, key_file: Path | None
) -> subprocess.Popen[str]:
    args = [
        sys.executable,
        "-m",
        "tests.gateway.audit.appender",
        url,
        name,
        str(threads),
        str(count),
    ]
    if key_file is not None:
        args.append(str(key_file))
    return subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, text=True)


def acks(lines: list[str]) -> dict[int, str]:
    found = {}
    for line in lines:
        if line.startswith("ack ") and line.endswith("\n"):
            _ack, seq, marker = line.split()
            found[int(seq)] = marker
    return found


def check_tree(url: str, key: Ed25519PrivateKey, acknowledged: dict[int, str]) -> int:
    """The stored log is whole: every acknowledged entry is there with its content, the
    sequence is dense, the tree state matches the entries and every checkpoint is a root
    the entries had."""
    engine = open_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(audit_entries.c.seq, audit_entries.c.leaf).order_by(audit_entries.c.seq)
            ).all()
            stored_hashes = [
                bytes(h)
                for h in conn.execute(
                    select(audit_leaves.c.leaf_hash).order_by(audit_leaves.c.idx)
                ).scalars()
            ]
            checkpoints = conn.execute(select(audit_checkpoints.c.text)).scalars().all()
        documents = {int(seq): json.loads(text) for seq, text in rows}
        assert list(documents) == list(range(1, len(rows) + 1))
        for seq, marker in acknowledged.items():
            assert documents[seq]["requester_user"] == marker, f"acknowledged entry {seq} lost"
        hashes = [leaf_hash(text.encode()) for _seq, text in rows]
        assert hashes == stored_hashes
        log = AuditLog(engine, agency="police", signing_key=key)
        try:
            head = log.head()
            assert (head.size, head.root) == (len(hashes), root_from_leaf_hashes(hashes))
            for text in checkpoints:
                c = verify_checkpoint(text, key.public_key())
                assert c.root_hash == root_from_leaf_hashes(hashes[: c.size])
        finally:
            log.close()
        return len(rows)
    finally:
        engine.dispose()


def test_killing_an_appender_loses_no_acknowledged_entry(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'node.db'}"
    engine = open_engine(url)
    upgrade(engine)
    engine.dispose()
    key = generate_signing_key()
    key_file = tmp_path / "node.key"
    key_file.write_bytes(private_key_to_pem(key))
    rng = random.Random(5)
    acknowledged: dict[int, str] = {}
    for round_ in range(5):
        process = appender(url, f"r{round_}", 4, 0, key_file)
        assert process.stdout is not None
        lines = []
        wanted = rng.randrange(20, 300)
        while len(lines) < wanted:
            line = process.stdout.readline()
            assert line, "the appender stopped by itself"
            lines.append(line)
        time.sleep(rng.random() * 0.05)
        process.send_signal(signal.SIGKILL)
        lines += process.stdout.readlines()  # acknowledged before it died
        process.wait()
        process.stdout.close()
        assert process.returncode == -signal.SIGKILL
        acknowledged.update(acks(lines))
        size = check_tree(url, key, acknowledged)
        assert size >= len(acknowledged)
    engine = open_engine(url)
    log = AuditLog(engine, agency="police", signing_key=key)
    try:
        report = verify_export(export_to(log, tmp_path / "export.jsonl", key), key.public_key())
        assert report.findings == [] and report.entries >= len(acknowledged)
    finally:
        log.close()
        engine.dispose()


@pytest.mark.postgres
def test_two_processes_appending_to_one_postgres_database_build_one_tree(
    postgres_url: str, tmp_path: Path
) -> None:
    engine = open_engine(postgres_url)
    upgrade(engine)
    engine.dispose()
    key = generate_signing_key()
    key_file = tmp_path / "node.key"
    key_file.write_bytes(private_key_to_pem(key))
    processes = [appender(postgres_url, name, 4, 60, key_file) for name in ("a", "b")]
    outputs = [p.communicate(timeout=240)[0] for p in processes]
    assert [p.returncode for p in processes] == [0, 0]
    first, second = (acks(out.splitlines(keepends=True)) for out in outputs)
    assert len(first) == len(second) == 240 and not set(first) & set(second)
    assert check_tree(postgres_url, key, {**first, **second}) == 480
