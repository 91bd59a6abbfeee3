"""Matching benchmark: index build rate, batch match throughput and single-search latency,
each beside a bare baseline measured in the same run.

    python3 dev.py bench match [--identifiers 1000000] [--searches 400]
"""

from __future__ import annotations

import argparse
import csv
import random
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stdnum import iban as stdnum_iban
from stdnum import iso6346
from stdnum.iso7064 import mod_97_10

from bench.common import machine, percentile
from connectors.loading import load_records
from connectors.mapping import load_mapping
from connectors.parallel import ParallelLoad
from crypto.tokens import MatchKeyring
from gateway.matching.indexer import Indexer
from gateway.matching.store import HitFilter, MatchStore
from gateway.storage.database import open_engine, upgrade

SECRET = bytes(range(32))
TYPES = ("phone", "email", "container", "iban")


def container(rng: random.Random) -> str:
    body = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(3)) + "U"
    body += f"{rng.randrange(10**6):06d}"
    return body + iso6346.calc_check_digit(body)


def iban(rng: random.Random) -> str:
    bban = f"ABNA{rng.randrange(10**10):010d}"
    check = 98 - int(mod_97_10.checksum(bban + "NL00"))
    value = f"NL{check:02d}{bban}"
    return stdnum_iban.format(value)


def write_dataset(folder: Path, records: int, seed: int = 1) -> tuple[Path, list[tuple[str, str]]]:
    """A CSV of ``records`` rows with four identifiers each, in everyday formatting."""
    rng = random.Random(seed)
    canonical: list[tuple[str, str]] = []
    path = folder / "people.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["ref", "phone", "email", "container", "iban", "recorded"])
        for i in range(records):
            number = f"6{rng.choice('12345')}{rng.randrange(10**7):07d}"
            phone = f"0{number[:1]} {number[1:5]} {number[5:]}"
            email = f"Person.{i}@Mail{rng.randrange(100)}.example"
            box = container(rng)
            acct = iban(rng)
            out.writerow(
                [f"r{i}", phone, email, f"{box[:4]} {box[4:10]} {box[10]}", acct, "2026-01-05"]
            )
            canonical.extend(
                [
                    ("phone", f"+31{number}"),
                    ("email", email.lower()),
                    ("container", box),
                    ("iban", acct.replace(" ", "")),
                ]
            )
    mapping = folder / "people.yaml"
    mapping.write_text(
        "dataset: people\nsource: {kind: csv, path: people.csv}\nrecord_ref: ref\n"
        "subject_category: {value: suspect}\nhandling_code: {value: H1}\n"
        "recorded_on: {column: recorded}\nidentifiers:\n"
        "  - {type: phone, column: phone, default_region: NL}\n"
        "  - {type: email, column: email}\n  - {type: container, column: container}\n"
        "  - {type: iban, column: iban}\n",
        encoding="utf-8",
    )
    return mapping, canonical


def _fresh_db(path: Path) -> None:
    engine = open_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()


def _index_run(folder: Path, mapping: Path, loaders: int) -> tuple[int, float, Path]:
    db = folder / f"node-{loaders}.db"
    _fresh_db(db)
    engine = open_engine(f"sqlite:///{db}")
    indexer = Indexer(MatchStore(engine), MatchKeyring(SECRET, 1), (1,), lambda: datetime.now(UTC))
    started = time.perf_counter()
    load = ParallelLoad(mapping, loaders) if loaders else load_records(load_mapping(mapping))
    summary = indexer.index_dataset("people", load)
    elapsed = time.perf_counter() - started
    engine.dispose()
    return summary.identifiers_indexed, elapsed, db


def bench_index(folder: Path, mapping: Path, canonical: list[tuple[str, str]]) -> Path:
    n, serial_s, _ = _index_run(folder, mapping, 0)
    _, one_s, _ = _index_run(folder, mapping, 1)
    _, parallel_s, db = _index_run(folder, mapping, 2)

    # Baseline: bare HMAC over pre-canonicalised values, inserted with sqlite3 executemany into
    # the same table (same indexes, same durability settings).
    baseline_db = folder / "baseline.db"
    _fresh_db(baseline_db)
    base = sqlite3.connect(baseline_db, isolation_level=None)
    base.execute("PRAGMA synchronous=FULL")
    keyring = MatchKeyring(SECRET, 1)
    sql = (
        "INSERT INTO match_tokens (token, epoch, id_type, dataset, record_ref, subject_category,"
        " handling_code, recorded_on) VALUES (?, 1, ?, 'people', ?, 'suspect', 'H1', '2026-01-05')"
    )
    started = time.perf_counter()
    base.execute("BEGIN")
    batch = []
    for i, (id_type, value) in enumerate(canonical):
        batch.append((keyring.token_bytes(id_type, 1, value), id_type, f"r{i // 4}"))
        if len(batch) >= 40_000:
            base.executemany(sql, batch)
            batch = []
    base.executemany(sql, batch)
    base.execute("COMMIT")
    baseline_s = time.perf_counter() - started
    base.close()
    print(f"index build, {n:,} identifiers ({', '.join(TYPES)}): CSV -> token -> SQLite")
    best = min(serial_s, one_s, parallel_s)
    for label, seconds in (
        ("cordon index (one process)", serial_s),
        ("cordon index --loaders 1", one_s),
        ("cordon index --loaders 2", parallel_s),
        ("bare HMAC + insert", baseline_s),
    ):
        print(f"  {label:28} {n / seconds:10,.0f} identifiers/s  ({seconds:.1f} s)")
    print(f"  ratio (best cordon run)      {best / baseline_s:10.2f} x the baseline's time")
    return db


def bench_match(db: Path, canonical: list[tuple[str, str]], count: int = 10_000) -> None:
    rng = random.Random(2)
    keyring = MatchKeyring(SECRET, 1)
    sample = rng.sample(canonical, count // 2)
    tokens = [keyring.token(t, 1, v).value for t, v in sample]
    tokens += [keyring.token("phone", 1, f"+3169{i:07d}").value for i in range(count - len(tokens))]
    rng.shuffle(tokens)
    engine = open_engine(f"sqlite:///{db}")
    store = MatchStore(engine)
    everything = HitFilter(frozenset(TYPES), None, frozenset({"suspect"}), frozenset({"H1"}))
    list(store.lookup(1, tokens[:100], everything))  # warm
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        found = sum(1 for _ in store.lookup(1, tokens, everything))
        runs.append(time.perf_counter() - started)
    engine.dispose()
    cordon_s = min(runs)
    conn = sqlite3.connect(db)
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        bare = 0
        for i in range(0, len(tokens), 500):
            chunk = tokens[i : i + 500]
            marks = ",".join("?" * len(chunk))
            bare += len(
                conn.execute(
                    f"SELECT record_ref FROM match_tokens WHERE token IN ({marks}) AND epoch=1",  # noqa: S608
                    chunk,
                ).fetchall()
            )
        runs.append(time.perf_counter() - started)
    conn.close()
    baseline_s = min(runs)
    print(
        f"batch match, {count:,} tokens against {len(canonical):,} ({found:,} hits, bare {bare:,}):"
    )
    print(f"  cordon lookup       {count / cordon_s:12,.0f} tokens/s")
    print(f"  bare SQL lookup     {count / baseline_s:12,.0f} tokens/s")
    print(f"  ratio               {cordon_s / baseline_s:12.2f} x the baseline's time")


def bench_search(folder: Path, searches: int) -> None:
    from gateway.demo.cluster import AgencySetup, provision
    from tests.e2e.conftest import (
        CUSTOMS_POLICY,
        INTEL_POLICY,
        POLICE_POLICY,
        SHARED_PHONE,
        _write_customs,
        _write_intel,
        _write_police,
    )

    policies = folder / "policies"
    policies.mkdir()
    for agency, text in (
        ("customs", CUSTOMS_POLICY),
        ("police", POLICE_POLICY),
        ("intel", INTEL_POLICY),
    ):
        (policies / f"{agency}.yaml").write_text(text.replace("answered_by", "answered_by"))
    setups = [
        AgencySetup(
            "customs", "Customs", policies / "customs.yaml", (_write_customs(folder / "dc"),)
        ),
        AgencySetup("police", "Police", policies / "police.yaml", (_write_police(folder / "dp"),)),
        AgencySetup("intel", "Intel", policies / "intel.yaml", (_write_intel(folder / "di"),)),
    ]
    cluster = provision(folder / "nodes", setups)
    cluster.index()
    cluster.start()
    try:
        body = {
            "purpose": "organised-crime",
            "case_reference": "BENCH",
            "identifiers": [{"type": "phone", "value": SHARED_PHONE}],
        }
        samples = []
        with cluster.nodes["customs"].client() as client:
            for _ in range(20):
                client.post("/api/v1/search", json=body)
            for _ in range(searches):
                started = time.perf_counter()
                response = client.post("/api/v1/search", json=body)
                samples.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    raise SystemExit(f"search failed: {response.text}")
            health = []
            for _ in range(searches):
                started = time.perf_counter()
                client.get("/api/v1/health")
                health.append((time.perf_counter() - started) * 1000)
    finally:
        cluster.stop()
    print(
        f"single-identifier federated search over mutual TLS, 3 nodes on loopback, {searches} runs:"
    )
    for label, runs in (("federated search", samples), ("bare local round trip", health)):
        p50, p99 = percentile(runs, 50), percentile(runs, 99)
        print(f"  {label:22} p50 {p50:6.1f} ms   p99 {p99:6.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--identifiers", type=int, default=1_000_000)
    parser.add_argument("--searches", type=int, default=400)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        mapping, canonical = write_dataset(folder, args.identifiers // len(TYPES))
        db = bench_index(folder, mapping, canonical)
        bench_match(db, canonical)
        search_folder = folder / "search"
        search_folder.mkdir()
        bench_search(search_folder, args.searches)


if __name__ == "__main__":
    main()
