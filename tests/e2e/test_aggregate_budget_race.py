"""The privacy budget holds under a race: one node's database (SQLite, and PostgreSQL when
CORDON_TEST_POSTGRES_URL is set) served by two separate server processes, and a partner
sending 200 concurrent aggregate questions split across both, each a different question (so
no answer comes from the cache), each asking rho = R where the partner's period budget is
exactly K * R. Exactly K are answered, the rest are refused, and the ledger holds K * R."""

from __future__ import annotations

import asyncio
import dataclasses
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, select

from crypto.keys import load_private_key
from gateway.aggregates.federated import AGGREGATE_PATH
from gateway.aggregates.ledger import GLOBAL, privacy_budgets, privacy_charges
from gateway.config import load_node_config
from gateway.demo.cluster import AgencySetup, Cluster, ClusterNode, free_port, provision
from gateway.federation.client import PeerCall, PeerClient
from gateway.federation.tls import client_context
from tests.conftest import POSTGRES_URL_ENV, fresh_postgres_database
from tests.e2e.test_aggregates import cordon
from tests.gateway.quotas.test_peer_path import manifest_of

REQUESTS = 200
K = 7
RHO = 0.125  # a power of two: K * RHO is exact in floats and in nano-rho
NANO = 10**9
# One public lane per request: a filter on a different lane makes a different question.
LANES = [f"L{i:03d}" for i in range(REQUESTS)]
# Cases per lane: the count's noise has standard deviation 2 (rho 0.125, sensitivity 1), so
# a lane's noisy count never falls below the minimum group size of 1 and is always released.
CASES_PER_LANE = 40

DECLARATION = """\
aggregate_dataset: seizures
source: {{kind: csv, path: seizures.csv}}
privacy_unit: case_id
max_rows_per_unit: 1
columns:
  lane: {{type: categorical, values: [{lanes}]}}
"""

POLICY = f"""\
policy: 1
node: customs
purposes:
  strategic-analysis: {{legal_basis: "test basis"}}
rules:
  - id: seizure-statistics
    partners: [police]
    purposes: [strategic-analysis]
    aggregate:
      datasets:
        seizures:
          columns: [lane]
          min_group_size: 1
          rho_per_query: {RHO}
          rho_per_period: {K * RHO}
          period: month
global_caps:
  seizures: {{rho: 100.0, period: month}}
"""


def write_customs_data(folder: Path) -> Path:
    folder.mkdir(parents=True)
    lines = ["case_id,lane"]
    lines += [f"C-{lane}-{i},{lane}" for lane in LANES for i in range(CASES_PER_LANE)]
    (folder / "seizures.csv").write_text("\n".join(lines) + "\n")
    declaration = folder / "seizures-aggregate.yaml"
    declaration.write_text(DECLARATION.format(lanes=", ".join(LANES)))
    return declaration


@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def customs_database(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """``None`` (the node's own SQLite file) or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield None
        return
    base = os.environ.get(POSTGRES_URL_ENV)
    if not base:
        pytest.skip(f"{POSTGRES_URL_ENV} not set: PostgreSQL tests need a server")
    with fresh_postgres_database(base) as url:
        yield url


@pytest.fixture
def two_processes(
    tmp_path_factory: pytest.TempPathFactory, customs_database: str | None
) -> Iterator[Cluster]:
    """Customs served by two processes (same keys, policy and database, other ports), and
    police, the partner asking."""
    root = tmp_path_factory.mktemp("budget-race")
    policy = root / "customs-policy.yaml"
    policy.write_text(POLICY)
    declaration = write_customs_data(root / "data-customs")
    cluster = provision(
        root / "nodes",
        [
            AgencySetup("customs", "Customs", policy, database=customs_database),
            AgencySetup("police", "Police"),
        ],
        extra_config={"customs": {"aggregates": [str(declaration)]}},
    )
    first = cluster.nodes["customs"].config_path
    refreshed = cordon("aggregate", "refresh", "--config", str(first))
    assert refreshed.returncode == 0, refreshed.stderr
    doc = yaml.safe_load(first.read_text())
    doc["listen"] = {
        "federation": {"host": "127.0.0.1", "port": free_port()},
        "local": {"host": "127.0.0.1", "port": free_port()},
    }
    second = first.with_name("node-b.yaml")
    second.write_text(yaml.safe_dump(doc))
    cluster.nodes["customs-b"] = ClusterNode("customs", second, load_node_config(second))
    cluster.start(agencies=["customs", "customs-b"])
    try:
        yield cluster
    finally:
        cluster.stop()


def ask_concurrently(cluster: Cluster, queries: list[dict[str, object]]) -> list[PeerCall]:
    """Police sends ``queries[i]`` to customs' process ``i % 2``, all at once."""
    police = cluster.nodes["police"].config
    member = manifest_of(cluster, "police").member("customs")
    assert member is not None
    key = load_private_key(police.signing_key.read_bytes())
    context = client_context(police.tls_certificate, police.tls_key, police.federation_ca)
    members = [
        dataclasses.replace(
            member, url=f"https://127.0.0.1:{cluster.nodes[name].config.federation_listener.port}"
        )
        for name in ("customs", "customs-b")
    ]

    async def run() -> list[PeerCall]:
        clients = [PeerClient("police", key, context, 30.0) for _ in members]
        try:
            calls = [
                clients[i % 2].call(
                    members[i % 2],
                    AGGREGATE_PATH,
                    query,
                    purpose="strategic-analysis",
                    case_reference="STRAT-RACE",
                    user="analyst",
                )
                for i, query in enumerate(queries)
            ]
            return list(await asyncio.gather(*calls))
        finally:
            for client in clients:
                await client.aclose()

    return asyncio.run(run())


def ledger_of(cluster: Cluster) -> tuple[dict[str, int], list[int]]:
    """Customs' budget rows (partner -> nano-rho spent) and its charges' amounts."""
    engine = create_engine(cluster.nodes["customs"].config.database_url)
    try:
        with engine.connect() as conn:
            spent = {
                row.partner: row.spent_nano
                for row in conn.execute(
                    select(privacy_budgets).where(privacy_budgets.c.dataset == "seizures")
                )
            }
            charges = list(conn.execute(select(privacy_charges.c.rho_nano)).scalars())
    finally:
        engine.dispose()
    return spent, charges


def test_exactly_k_concurrent_questions_fit_the_budget_across_two_processes(
    two_processes: Cluster,
) -> None:
    queries: list[dict[str, object]] = [
        {"dataset": "seizures", "template": "count", "filters": {"lane": [lane]}, "rho": RHO}
        for lane in LANES
    ]
    calls = ask_concurrently(two_processes, queries)

    statuses = Counter(call.status for call in calls)
    assert statuses == Counter({"ok": K, "denied": REQUESTS - K}), [
        call.detail for call in calls if call.status not in ("ok", "denied")
    ][:5]
    for call in calls:
        if call.status == "ok":
            assert call.answer is not None
            aggregate = call.answer["aggregate"]
            assert not aggregate["cached"]
            assert aggregate["rho_charged_nano"] == RHO * NANO
            assert [g["key"] for g in aggregate["groups"]] == [[]]
            assert isinstance(aggregate["groups"][0]["value"], int)
            assert not aggregate["groups"][0]["suppressed"]
        else:
            assert call.detail is not None and "does not fit" in call.detail

    spent, charges = ledger_of(two_processes)
    assert spent == {"police": K * RHO * NANO, GLOBAL: K * RHO * NANO}
    assert charges == [RHO * NANO] * K
