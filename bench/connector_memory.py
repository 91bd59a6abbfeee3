"""Connector throughput and memory: stream 1M generated rows from CSV and from SQLite through
``open_source`` (rows only) and ``load_records`` (rows -> canonical records), beside a bare
``csv.reader`` / bare ``sqlite3`` cursor over the same data as the baseline.

Each phase runs in its own fresh Python process, so that no phase inherits another's heap: the
figures printed are the peak resident set while streaming (psutil, sampled every 5 ms) and its
growth over the RSS measured just before streaming started, after every import. Flat memory
shows as a growth that does not depend on the row count (compare with ``--rows 100000``).

    .venv/bin/python bench/connector_memory.py [--rows 1000000] [--data DIR]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import sqlalchemy
import yaml

PHASES = (
    "csv_baseline", "csv_rows", "csv_records",
    "sqlite_baseline", "sqlite_rows", "sqlite_records",
)  # fmt: skip
COLUMNS = ("ref", "email", "container", "port", "value")
OWNERS = ("CSQU", "MSKU", "TGHU", "MAEU", "CMAU")
PORTS = ("Rotterdam", "Antwerp", "Hamburg", "Le Havre", "Algeciras", "Gdansk")


def _container(index: int) -> str:
    from stdnum import iso6346

    prefix = f"{OWNERS[index % len(OWNERS)]}{index % 1_000_000:06d}"
    return prefix + iso6346.calc_check_digit(prefix)


def generate(folder: Path, rows: int) -> None:
    """One CSV file and one SQLite table with the same ``rows`` rows."""
    csv_path, db_path = folder / "bench.csv", folder / "bench.db"
    if db_path.exists():
        db_path.unlink()
    containers = [_container(i) for i in range(min(rows, 1_000_000))]

    def records() -> Iterator[tuple[str, str, str, str, int]]:
        for i in range(rows):
            yield (f"R{i}", f"user{i}@example.org", containers[i % len(containers)],
                   PORTS[i % len(PORTS)], i % 10_007)  # fmt: skip

    with csv_path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        writer.writerows(records())
    connection = sqlite3.connect(db_path)
    try:
        connection.execute(
            "CREATE TABLE bench (ref TEXT PRIMARY KEY, email TEXT, container TEXT, port TEXT, "
            "value INTEGER)"
        )
        connection.executemany("INSERT INTO bench VALUES (?, ?, ?, ?, ?)", records())
        connection.commit()
    finally:
        connection.close()
    for kind, source in (
        ("csv", {"kind": "csv", "path": "bench.csv"}),
        ("sqlite", {"kind": "sql", "url": "sqlite:///bench.db", "table": "bench"}),
    ):
        mapping = {
            "dataset": "bench",
            "source": source,
            "record_ref": "ref",
            "subject_category": {"value": "suspect"},
            "handling_code": {"value": "H2"},
            "identifiers": [
                {"type": "email", "column": "email"},
                {"type": "container", "column": "container"},
            ],
            "attributes": [
                {"name": "port", "column": "port", "type": "string"},
                {"name": "value", "column": "value", "type": "integer"},
            ],
        }
        (folder / f"{kind}.yaml").write_text(yaml.safe_dump(mapping), encoding="utf-8")


@contextmanager
def rss_sampler() -> Iterator[Callable[[], int]]:
    """Sample this process's RSS every 5 ms; yield a function returning the peak so far."""
    process = psutil.Process()
    peak = [process.memory_info().rss]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.005):
            peak[0] = max(peak[0], process.memory_info().rss)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield lambda: peak[0]
    finally:
        stop.set()
        thread.join()


def run_phase(phase: str, folder: Path) -> dict[str, float]:
    """Stream the data once in this process; return counts, time and memory."""
    from connectors.loading import load_records
    from connectors.mapping import load_mapping
    from connectors.sources import open_source

    kind, _, what = phase.partition("_")
    mapping = load_mapping(folder / f"{kind}.yaml")
    rows = identifiers = 0
    process = psutil.Process()
    start_rss = process.memory_info().rss
    with rss_sampler() as peak:
        started = time.perf_counter()
        if phase == "csv_baseline":
            with (folder / "bench.csv").open(encoding="utf-8", newline="") as handle:
                reader = csv.reader(handle)
                next(reader)
                rows = sum(1 for _ in reader)
        elif phase == "sqlite_baseline":
            connection = sqlite3.connect(folder / "bench.db")
            try:
                cursor = connection.execute(f"SELECT {', '.join(COLUMNS)} FROM bench")  # noqa: S608
                rows = sum(1 for _ in cursor)
            finally:
                connection.close()
        elif what == "rows":
            rows = sum(1 for _ in open_source(mapping))
        else:
            with load_records(mapping) as load:
                for record in load:
                    rows += 1
                    identifiers += len(record.identifiers)
        seconds = time.perf_counter() - started
        peak_rss = max(peak(), process.memory_info().rss)
    return {
        "rows": rows,
        "identifiers": identifiers,
        "seconds": seconds,
        "start_rss": start_rss,
        "peak_rss": peak_rss,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--data", type=Path, help="folder for the generated data (kept)")
    parser.add_argument("--phase", choices=PHASES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(run_phase(args.phase, args.data)))
        return
    with tempfile.TemporaryDirectory(prefix="cordon-bench-") as scratch:
        folder = args.data or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        generate(folder, args.rows)
        print(f"machine: {platform.machine()} {platform.system()} {platform.release()}, "
              f"{os.cpu_count()} logical CPUs ({psutil.cpu_count(logical=False)} physical), "
              f"Python {platform.python_version()}, SQLAlchemy {sqlalchemy.__version__}, "
              f"sqlite {sqlite3.sqlite_version}")  # fmt: skip
        print(f"data: {args.rows:,} rows, 2 identifiers + 2 attributes per row; CSV "
              f"{(folder / 'bench.csv').stat().st_size / 2**20:.0f} MiB, SQLite "
              f"{(folder / 'bench.db').stat().st_size / 2**20:.0f} MiB "
              f"(generated in {time.perf_counter() - started:.1f} s)")  # fmt: skip
        print(f"{'phase':<16}{'rows':>10}{'rows/s':>12}{'ids/s':>12}{'peak RSS':>12}"
              f"{'growth':>10}")  # fmt: skip
        for phase in PHASES:
            done = subprocess.run(
                [sys.executable, __file__, "--phase", phase, "--data", str(folder)],
                check=True, capture_output=True, text=True,
            )  # fmt: skip
            figures = json.loads(done.stdout)
            rate = figures["rows"] / figures["seconds"]
            ids = figures["identifiers"] / figures["seconds"] if figures["identifiers"] else 0
            print(f"{phase:<16}{figures['rows']:>10,.0f}{rate:>12,.0f}"
                  f"{(f'{ids:,.0f}' if ids else '-'):>12}"
                  f"{figures['peak_rss'] / 2**20:>9.1f} MiB"
                  f"{(figures['peak_rss'] - figures['start_rss']) / 2**20:>7.1f} MiB")  # fmt: skip


if __name__ == "__main__":
    main()
