"""Differentially private aggregates benchmark, each figure beside a baseline measured in the
same run on the same data:

* DP count, DP sum (each unfiltered and filtered to one port), DP histogram and DP histogram
  over keys chosen by a DP threshold (a column with no public values) latency through
  the whole answerer (policy, ledger charge, pushed-down SQL, OpenDP noise, cache write) vs the
  bare SQL aggregate with the same filter on the same table (no noise, no ledger), warm, for a
  staged file (rows bounded and clamped when staged, so the bare aggregate on the staged table
  is the same figure) and for a SQL source read in place (bounding by a window function and
  clamping by CASE in the query; the bare aggregate there is unbounded);
* beside each, the pushed-down exact query alone (``SourceDatabases.exact_with_counts``) and
  the rest of the DP answer (DP minus exact, run by run: policy, ledger reserve and release,
  noise, cache write, durable commits), the cost every answer pays whatever the data size;
  and that cost measured directly, as the DP count and sum of a 100-row staged file;
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
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Engine, text

from bench.common import machine, median
from connectors.aggregate_mapping import load_aggregate_declaration
from gateway.aggregates.cache import AnswerCache
from gateway.aggregates.declarations import AggregateDatasets, check_query
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
  origin: {{type: categorical}}
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
          columns: [port, month, origin, quantity_kg]
          group_by: [[port], [port, month], [origin]]
          min_group_size: 5
          rho_per_query: 1.0
          rho_per_period: 1000000.0
          period: month
          delta_per_query: 1.0e-8
          delta_per_period: 1.0e-4
"""
# Countries of origin with no public list: 40 common ones and a long tail of rare ones, so
# that a DP threshold has something to leave out.
ORIGINS = tuple(f"C{i:02d}" for i in range(40))
RARE_ORIGINS = tuple(f"R{i:03d}" for i in range(400))
ONE_PORT = {"port": ["NLRTM"]}
QUESTIONS: dict[str, dict[str, object]] = {
    "count": {"template": "count"},
    "count, 1 port": {"template": "count", "filters": ONE_PORT},
    "sum": {"template": "sum", "column": "quantity_kg"},
    "sum, 1 port": {"template": "sum", "column": "quantity_kg", "filters": ONE_PORT},
    "histogram": {"template": "count", "group_by": ["port", "month"]},
    "keys by threshold": {"template": "count", "group_by": ["origin"]},
}
FIXED = ["count", "sum"]
BARE = {
    "count": "SELECT COUNT(*) FROM {t}",
    "count, 1 port": "SELECT COUNT(*) FROM {t} WHERE port IN ('NLRTM')",
    "sum": "SELECT SUM(quantity_kg) FROM {t}",
    "sum, 1 port": "SELECT SUM(quantity_kg) FROM {t} WHERE port IN ('NLRTM')",
    "histogram": "SELECT port, month, COUNT(*) FROM {t} GROUP BY port, month",
    "keys by threshold": "SELECT origin, COUNT(*) FROM {t} GROUP BY origin",
}


def write_rows(folder: Path, rows: int) -> None:
    """``rows`` seizures in cases of 1-6 rows (so bounding to 4 bites), as CSV and SQLite."""
    rng = random.Random(11)
    data: list[tuple[str, str, str, str, int]] = []
    case = 0
    while len(data) < rows:
        case += 1
        port = rng.choice(PORTS)
        origin = rng.choice(RARE_ORIGINS if rng.random() < 0.001 else ORIGINS)
        for _ in range(rng.randint(1, 6)):
            data.append((f"C{case}", port, rng.choice(MONTHS), origin, rng.randint(1, 2500)))
    data = data[:rows]
    with (folder / "seizures.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["case_id", "port", "month", "origin", "quantity_kg"])
        writer.writerows(data)
    with sqlite3.connect(folder / "source.db") as db:
        db.execute(
            "CREATE TABLE seizures (case_id TEXT, port TEXT, month TEXT, origin TEXT,"
            " quantity_kg INT)"
        )
        db.executemany("INSERT INTO seizures VALUES (?, ?, ?, ?, ?)", data)
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


def question(fields: dict[str, object]) -> AggregateQuery:
    return AggregateQuery.model_validate({"dataset": "seizures", "rho": 0.01, **fields})


@dataclass(frozen=True)
class Timings:
    """Medians of one question's warm runs; ``rest`` is the median of each run's DP answer
    minus its exact query: what the answer adds to the pushed-down SQL."""

    bare: float
    exact: float
    dp: float
    rest: float


def time_question(
    service: AggregateAnswerer,
    engine: Engine,
    bare: tuple[Engine, str],
    policy: Policy,
    fields: dict[str, object],
    runs: int,
) -> Timings:
    """The bare SQL aggregate, the exact query as the answerer pushes it down (staged
    sources: with its fingerprint checks) and the whole DP answer, interleaved run by run so
    that a busy machine weighs on all three alike. The first two runs only warm up."""
    query = question(fields)
    checked = check_query(service.datasets.get("seizures"), query)
    sources = SourceDatabases(engine)
    bare_s: list[float] = []
    exact_s: list[float] = []
    dp_s: list[float] = []
    try:
        for run in range(runs + 2):
            started = time.perf_counter()
            with bare[0].connect() as connection:
                connection.execute(text(bare[1])).all()
            bare_done = time.perf_counter()
            sources.exact_with_counts(checked)
            exact_done = time.perf_counter()
            service.cache.refresh("seizures")  # a fresh question each run: nothing cached
            dp_started = time.perf_counter()
            service.answer(policy, "police", "strategic-analysis", f"bench-{run}", query)
            dp_done = time.perf_counter()
            if run >= 2:
                bare_s.append(bare_done - started)
                exact_s.append(exact_done - bare_done)
                dp_s.append(dp_done - dp_started)
    finally:
        sources.close()
    rest = [dp - exact for dp, exact in zip(dp_s, exact_s, strict=True)]
    return Timings(median(bare_s), median(exact_s), median(dp_s), median(rest))


def print_table(
    label: str,
    service: AggregateAnswerer,
    engine: Engine,
    bare: tuple[Engine, str],
    policy: Policy,
    questions: list[str],
    runs: int,
) -> None:
    print(f"\n{label}: median of {runs} warm runs")
    print(
        f"{'question':18} {'bare SQL':>10} {'exact':>10} {'DP answer':>10} {'ratio':>7} "
        f"{'DP - exact':>11}"
    )
    for name in questions:
        statement = BARE[name].format(t=bare[1])
        took = time_question(service, engine, (bare[0], statement), policy, QUESTIONS[name], runs)
        print(
            f"{name:18} {took.bare * 1000:8.1f}ms {took.exact * 1000:8.1f}ms "
            f"{took.dp * 1000:8.1f}ms {took.dp / took.bare:6.2f}x {took.rest * 1000:9.1f}ms"
        )


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
            print(
                f"staged {report.rows_staged:,} of {report.rows_read:,} rows "
                f"({report.rows_beyond_bound:,} beyond max_rows_per_unit) "
                f"in {time.perf_counter() - started:.1f} s"
            )
        print_table(label, service, engine, (bare_engine, table), policy, list(QUESTIONS), runs)
        service.close()
    source.dispose()


def fixed_cost_table(folder: Path, policy: Policy, runs: int) -> None:
    """The same questions on a 100-row staged file in a node database of its own: the SQL is
    next to free, so the DP answer is the cost every answer pays (policy, ledger reserve and
    release, noise, cache write, durable commits) whatever the data size."""
    tiny = folder / "tiny"
    tiny.mkdir()
    write_rows(tiny, 100)
    engine = open_engine(f"sqlite:///{tiny / 'node.db'}")
    upgrade(engine)
    service = answerer(engine, tiny / "staged.yaml")
    service.refresh()
    bare = (engine, "aggregate_staged_seizures")
    print_table("fixed cost, 100-row staged file", service, engine, bare, policy, FIXED, runs)
    service.close()
    engine.dispose()


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
        policy = load_policy(POLICY)
        latency_table(folder, engine, policy, args.runs)
        engine.dispose()
        fixed_cost_table(folder, policy, args.runs)
    federated_error(args.federated_runs)


if __name__ == "__main__":
    main()
