"""Audit log benchmark, each figure beside a baseline measured in the same run:

* durable append throughput with group commit (SQLite, WAL, synchronous=FULL) vs bare durable
  inserts of the same rows, one insert and commit each;
* full offline verification of an export of 1M entries vs bare SHA-256 over the same bytes;
* inclusion-proof latency vs reading one entry by its key.

    python3 dev.py bench audit [--entries 1000000] [--appends 20000] [--threads 32]

``--entries 0`` measures appends only (with --threads and twice as many).
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import insert

from bench.common import machine, percentile
from crypto.keys import generate_signing_key, public_key_to_text
from gateway.audit.entry import entry_leaf
from gateway.audit.export import ExportRequest, jsonl
from gateway.audit.schemas import AuditEvent
from gateway.audit.service import AuditLog
from gateway.audit.store import audit_entries, index_row
from gateway.audit.verify import verify_export
from gateway.storage.database import open_engine, upgrade

START = datetime(2026, 1, 1, tzinfo=UTC)


def event(i: int) -> AuditEvent:
    """A typical peer match entry: about 500 bytes once canonical."""
    return AuditEvent(
        channel="peer",
        requester_agency=("customs", "intel", "border")[i % 3],
        requester_user=f"analyst-{i % 97}",
        query_type="match",
        decision="denied" if i % 11 == 0 else "allowed",
        recorded_at=START + timedelta(milliseconds=i),
        purpose="organised-crime",
        case_reference=f"CASE-2026-{i % 1000:04d}",
        identifier_types={"phone": 1 + i % 3, "iban": i % 2},
        rule_id="partners-watch",
        policy_version="7d3f0c2a9b1e",
        latency_ms=3.0 + (i % 50) / 10,
        outcome={"decision": "allowed", "hits": i % 4, "denied": 0, "jti": f"j{i:012d}"},
        signatures={"answer": "x" * 86},
    )


def fresh_log(folder: Path, name: str, key: Ed25519PrivateKey | None = None) -> AuditLog:
    engine = open_engine(f"sqlite:///{folder / name}")
    upgrade(engine)
    return AuditLog(engine, agency="police", signing_key=key or generate_signing_key())


def bench_appends(folder: Path, appends: int, threads: int) -> None:
    folder.mkdir()
    print(f"\n## durable appends (SQLite, WAL, synchronous=FULL), {appends:,} entries")
    log = fresh_log(folder, "group.db")
    per_thread = appends // threads

    def work(worker: int) -> None:
        for i in range(per_thread):
            log.append(event(worker * per_thread + i))

    workers = [threading.Thread(target=work, args=(w,)) for w in range(threads)]
    started = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - started
    group_rate = per_thread * threads / elapsed
    log.close()

    single = fresh_log(folder, "single.db")
    count = max(200, appends // 20)
    started = time.perf_counter()
    for i in range(count):
        single.append(event(i))
    single_rate = count / (time.perf_counter() - started)
    single.close()

    # Baseline: the same rows, one INSERT and COMMIT each, no tree, no queue.
    bare = fresh_log(folder, "bare.db")
    engine = bare.store.engine
    started = time.perf_counter()
    for i in range(count):
        document, leaf, _digest = entry_leaf(i + 1, event(i))
        row = {**index_row(document, event(i)), "seq": i + 1, "leaf": leaf.decode()}
        with engine.begin() as conn:
            conn.execute(insert(audit_entries).values(**row))
    bare_rate = count / (time.perf_counter() - started)
    bare.close()
    print(f"group commit, {threads} appending threads : {group_rate:10,.0f} entries/s")
    print(f"one appender at a time (no sharing)      : {single_rate:10,.0f} entries/s")
    print(f"baseline: bare insert + commit each      : {bare_rate:10,.0f} entries/s")
    print(f"group commit vs baseline                 : {group_rate / bare_rate:10.1f} x")


def build_export(folder: Path, entries: int, key: Ed25519PrivateKey) -> tuple[Path, AuditLog]:
    log = fresh_log(folder, "big.db", key)
    started = time.perf_counter()
    batch = 5000
    checkpoint_every = max(batch, entries // 16)
    for low in range(0, entries, batch):
        log.store.append_batch([event(i) for i in range(low, min(entries, low + batch))])
        if (low + batch) % checkpoint_every == 0:
            log.issue_checkpoint()
    log.issue_checkpoint()
    filled = time.perf_counter() - started
    path = folder / "export.jsonl"
    started = time.perf_counter()
    text = public_key_to_text(key.public_key())
    with path.open("wb") as handle:
        for chunk in jsonl(log, ExportRequest(checkpoints=16), text):
            handle.write(chunk)
    exported = time.perf_counter() - started
    print(f"(set-up: {entries:,} entries appended in {filled:.1f} s, exported in {exported:.1f} s)")
    return path, log


def bench_verify(folder: Path, entries: int) -> AuditLog:
    print(f"\n## offline verification of an export of {entries:,} entries")
    key = generate_signing_key()
    path, log = build_export(folder, entries, key)
    size = path.stat().st_size
    started = time.perf_counter()
    report = verify_export(path, key.public_key())
    verified = time.perf_counter() - started
    assert report.ok and report.entries == entries, report.findings[:3]

    started = time.perf_counter()
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    whole = time.perf_counter() - started
    started = time.perf_counter()
    with path.open("rb") as handle:
        for line in handle:
            hashlib.sha256(b"\x00" + line).digest()
    per_line = time.perf_counter() - started
    print(f"export size                              : {size / 1e6:10,.0f} MB")
    print(f"full verification (cordon audit verify)  : {verified:10.2f} s "
          f"({entries / verified:,.0f} entries/s)")  # fmt: skip
    print(f"baseline: SHA-256 of the file            : {whole:10.2f} s")
    print(f"baseline: SHA-256 of every line          : {per_line:10.2f} s")
    return log


def bench_proofs(log: AuditLog, samples: int) -> None:
    size = log.head().size
    print(f"\n## inclusion proofs in a log of {size:,} entries, {samples} random entries")
    rng = random.Random(7)
    log.inclusion(1, size)  # the first proof reads the whole tree once; later ones hit cache
    proof, lookup = [], []
    for _ in range(samples):
        seq = rng.randrange(1, size + 1)
        started = time.perf_counter()
        log.inclusion(seq, size)
        proof.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        log.store.leaf_of(seq)
        lookup.append((time.perf_counter() - started) * 1000)
    print(f"inclusion proof p50 / p99                : {percentile(proof, 50):6.2f} / "
          f"{percentile(proof, 99):6.2f} ms")  # fmt: skip
    print(f"baseline: read one entry p50 / p99       : {percentile(lookup, 50):6.2f} / "
          f"{percentile(lookup, 99):6.2f} ms")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--appends", type=int, default=20_000)
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--proofs", type=int, default=500)
    args = parser.parse_args()
    print(f"# Cordon audit log benchmark\nmachine: {machine()}")
    with tempfile.TemporaryDirectory(prefix="cordon-bench-audit-") as tmp:
        folder = Path(tmp)
        for threads in sorted({args.threads, 2 * args.threads}):
            bench_appends(folder / f"t{threads}", args.appends, threads)
        if args.entries:
            log = bench_verify(folder, args.entries)
            bench_proofs(log, args.proofs)
            log.close()


if __name__ == "__main__":
    main()
