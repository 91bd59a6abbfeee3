"""Differentially private aggregates benchmark, each figure beside a baseline measured in the
same run on the same data:

* DP count, DP sum and DP histogram latency through the whole answerer (policy, ledger charge,
  pushed-down SQL with contribution bounding and clamping, OpenDP noise, cache write) vs the
  bare SQL aggregate on the same table (no bounding, no noise, no ledger), warm;
* the same for a SQL source read in place (bounding by a window function in the query);
* for a federated answer of three nodes, the observed error of the combined figure over many
  runs vs the theoretical standard deviation and 95% interval.

    python3 dev.py bench aggregate [--rows 1000000] [--runs 30] [--federated-runs 2000]
"""

from __future__ import annotations

import argparse
import csv
import math
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Engine, text

from bench.common import machine, median
from connectors.aggregate_mapping import load_aggregate_declaration
from gateway.aggregates.cache import AnswerCache
from gateway.aggregates.declarations import AggregateDatasets
from gateway.aggregates.federated import combine
from gateway.aggregates.ledger import PrivacyLedger
from gateway.aggregates.noise import calibrate
from gateway.aggregates.query import SourceDatabases
from gateway.aggregates.schemas import AggregateQuery, GroupValue, NodeAggregate, PeerStatus
from gateway.aggregates.service import AggregateAnswerer
from gateway.storage.database import open_engine, upgrade
from policies import Policy, load_policy

NOW = datetime(2026, 1, 15, tzinfo=UTC)
PORTS = ("NLRTM", "BEANR", "DEHAM", "FRLEH", "ESALG", "GRPIR", "PLGDN", "ESVLC")
MONTHS = tuple(f"2025-{m:02d}" for m in range(1, 13))
COLUMNS = f"""\
privacy_unit: case_id
max_rows_per_unit: 4
columns:
  port: {{type: categorical, values: [{", ".join(PORTS)}]}}
  month: {{type: categorical, values: [{", ".join(f'"{m}"' for m in MONTHS)}]}}
  quantity_kg: {{type: integer, lower: 0, upper: 2000}}
"""
POLICY = """\
policy: 1
node: customs
purposes:
  strategic-analysis: {legal_basis: "benchmark"}
rules:
  - id: bench
    partners: [police]
    purposes: [strategic-analysis]
    aggregate:
      datasets:
        seizures:
          columns: [port, month, quantity_kg]
          group_by: [[port], [port, month]]
          min_group_size: 5
          rho_per_query: 1.0
          rho_per_period: 1000000.0
          period: month
"""
QUESTIONS: dict[str, dict[str, object]] = {
    "count": {"template": "count"},
    "sum": {"template": "sum", "column": "quantity_kg"},
    "histogram": {"template": "count", "group_by": ["port", "month"]},
}
BARE = {
    "count": "SELECT COUNT(*) FROM {t}",
    "sum": "SELECT SUM(quantity_kg) FROM {t}",
    "histogram": "SELECT port, month, COUNT(*) FROM {t} GROUP BY port, month",
}


def write_rows(folder: Path, rows: int) -> None:
    """``rows`` seizures in cases of 1-6 rows (so bounding to 4 bites), as CSV and SQLite."""
    rng = random.Random(11)
    data: list[tuple[str, str, str, int]] = []
    case = 0
    while len(data) < rows:
        case += 1
        port = rng.choice(PORTS)
        for _ in range(rng.randint(1, 6)):
            data.append((f"C{case}", port, rng.choice(MONTHS), rng.randint(1, 2500)))
    data = data[:rows]
    with (folder / "seizures.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["case_id", "port", "month", "quantity_kg"])
        writer.writerows(data)
    with sqlite3.connect(folder / "source.db") as db:
        db.execute("CREATE TABLE seizures (case_id TEXT, port TEXT, month TEXT, quantity_kg INT)")
        db.executemany("INSERT INTO seizures VALUES (?, ?, ?, ?)", data)
    db.close()
    (folder / "staged.yaml").write_text(
        "aggregate_dataset: seizures\nsource: {kind: csv, path: seizures.csv}\n" + COLUMNS
    )
    (folder / "in_place.yaml").write_text(
        "aggregate_dataset: seizures\n"
        "source: {kind: sql, url: 'sqlite:///source.db', table: seizures}\n" + COLUMNS
    )


def answerer(engine: Engine, declaration: Path) -> AggregateAnswerer:
    return AggregateAnswerer(
        "customs",
        AggregateDatasets([load_aggregate_declaration(declaration)]),
        SourceDatabases(engine),
        PrivacyLedger(engine, lambda: NOW),
        AnswerCache(engine, lambda: NOW),
    )


def time_dp(
    service: AggregateAnswerer, policy: Policy, fields: dict[str, object], runs: int
) -> float:
    query = AggregateQuery.model_validate({"dataset": "seizures", "rho": 0.01, **fields})
    samples = []
    for run in range(runs + 2):
        service.cache.refresh("seizures")  # a fresh question each run: nothing from the cache
        started = time.perf_counter()
        service.answer(policy, "police", "strategic-analysis", f"bench-{run}", query)
        if run >= 2:  # the first two warm the engine and the calibration
            samples.append(time.perf_counter() - started)
    return median(samples)


def time_bare(engine: Engine, statement: str, runs: int) -> float:
    samples = []
    for run in range(runs + 2):
        started = time.perf_counter()
        with engine.connect() as connection:
            connection.execute(text(statement)).all()
        if run >= 2:
            samples.append(time.perf_counter() - started)
    return median(samples)


def latency_table(folder: Path, engine: Engine, policy: Policy, runs: int) -> None:
    source = open_engine(f"sqlite:///{folder / 'source.db'}")
    for label, declaration, bare_engine, table in (
        ("staged file", folder / "staged.yaml", engine, "aggregate_staged_seizures"),
        ("SQL in place", folder / "in_place.yaml", source, "seizures"),
    ):
        service = answerer(engine, declaration)
        if label == "staged file":
            started = time.perf_counter()
            [report] = service.refresh()
            print(f"staged {report.rows_staged:,} rows in {time.perf_counter() - started:.1f} s")
        print(f"\n{label}: median of {runs} warm runs")
        print(f"{'question':12} {'bare SQL':>10} {'DP answer':>10} {'ratio':>7}")
        for name, fields in QUESTIONS.items():
            bare = time_bare(bare_engine, BARE[name].format(t=table), runs)
            dp = time_dp(service, policy, fields, runs)
            print(f"{name:12} {bare * 1000:8.1f}ms {dp * 1000:8.1f}ms {dp / bare:6.2f}x")
        service.close()
    source.dispose()


def federated_error(runs: int) -> None:
    """Three nodes answer a count of 1,000 each under rho 0.05, sensitivity 4."""
    truth = [1000, 1000, 1000]
    noise = calibrate("discrete_gaussian", 4, 50_000_000)
    query = AggregateQuery(dataset="seizures", template="count", rho=0.05)
    errors, covered = [], 0
    for _ in range(runs):
        statuses = []
        for agency, exact in zip(("customs", "police", "intel"), truth, strict=True):
            [value] = noise.release([exact])
            aggregate = NodeAggregate(
                responder=agency, dataset="seizures", template="count",
                mechanism="discrete_gaussian", scale=noise.scale, variance=noise.variance,
                ci95_half_width=noise.ci95, rho_charged=0.05, budget_left=0.0,
                rho_charged_nano=50_000_000, budget_left_nano=0, cached=False,
                min_group_size=1,
                groups=(GroupValue(key=(), value=value, ci_low=None, ci_high=None),),
            )  # fmt: skip
            statuses.append(PeerStatus(agency=agency, status="ok", aggregate=aggregate))
        combined = combine(query, tuple(statuses))
        [group] = combined.groups
        assert group.value is not None and group.ci_low is not None and group.ci_high is not None
        errors.append(group.value - sum(truth))
        covered += group.ci_low <= sum(truth) <= group.ci_high
    theory = math.sqrt(combined.variance)
    rmse = math.sqrt(statistics.fmean(e * e for e in errors))
    print(f"\nfederated count, 3 nodes x discrete Gaussian (scale {noise.scale:.2f}), {runs} runs")
    print(f"  error std: observed {rmse:.2f}   theoretical {theory:.2f}")
    print(f"  mean error: {statistics.fmean(errors):+.2f}  (theory 0)")
    print(f"  95% interval ±{combined.ci95_half_width:.1f} covered the truth {covered / runs:.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--federated-runs", type=int, default=2000)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"rows: {args.rows:,}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_rows(folder, args.rows)
        engine = open_engine(f"sqlite:///{folder / 'node.db'}")
        upgrade(engine)
        latency_table(folder, engine, load_policy(POLICY), args.runs)
        engine.dispose()
    federated_error(args.federated_runs)


if __name__ == "__main__":
    main()
