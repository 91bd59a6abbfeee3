"""The demo: three agencies (customs, police, intelligence) with synthetic data and a planted
smuggling network, three real nodes on loopback with mutual TLS, federated searches, and a
readable account of what each agency learnt."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from gateway.cli.aggregate import print_tables
from gateway.demo.cluster import AgencySetup, Cluster, provision
from gateway.demo.data import DemoData, DemoSearch, generate, seizure_declarations
from gateway.node import build_node

EXAMPLES = Path(__file__).resolve().parents[2] / "policies" / "examples"

AGENCIES = {
    "customs": ("Customs Administration", "NL", "Customs Intelligence Desk, +31 10 555 0100"),
    "police": (
        "National Police, Organised Crime Unit",
        "NL",
        "OC Unit duty officer, +31 70 555 0199",
    ),
    "intel": ("Financial Intelligence Unit", "NL", "FIU liaison desk, +31 20 555 0142"),
}


@dataclass
class DemoOutcome:
    checks_passed: int
    checks_failed: int


def build(root: Path, data: DemoData) -> Cluster:
    setups = [
        AgencySetup(
            agency=agency,
            display_name=display,
            policy=EXAMPLES / f"{agency}.yaml",
            datasets=data.agencies[agency].mappings,
            default_region=region,
            contact_point=contact,
        )
        for agency, (display, region, contact) in AGENCIES.items()
    ]
    aggregates = {
        agency: {"aggregates": [str(path.resolve())]}
        for agency, path in seizure_declarations(data).items()
    }
    return provision(root / "federation-run", setups, extra_config=aggregates)


# Seizures by port and month (two ports, first half of 2025) across the agencies.
AGGREGATE_QUESTION: dict[str, Any] = {
    "purpose": "strategic-analysis",
    "case_reference": "TRENDS-2025-H1",
    "query": {
        "dataset": "seizures",
        "template": "count",
        "group_by": ["port", "month"],
        "filters": {
            "port": ["Rotterdam", "Antwerp"],
            "month": [f"2025-{m:02d}" for m in range(1, 7)],
        },
        "rho": 0.05,
    },
}


# Seizures by commodity: the declarations list no public commodities, so each node chooses
# which commodities to release by a DP threshold (and charges delta for it).
KEY_SELECTION_QUESTION: dict[str, Any] = {
    "purpose": "strategic-analysis",
    "case_reference": "TRENDS-2025-COMMODITIES",
    "query": {"dataset": "seizures", "template": "count", "group_by": ["commodity"], "rho": 0.05},
}


def stage_aggregates(cluster: Cluster) -> None:
    """What ``cordon aggregate refresh`` does on each node: stage file sources."""
    for member in cluster.nodes.values():
        node = build_node(member.config)
        try:
            if node.aggregates is not None:
                node.aggregates.refresh()
        finally:
            node.close()


def run_aggregate(
    cluster: Cluster,
    console: Console,
    by: str = "customs",
    question: dict[str, Any] = AGGREGATE_QUESTION,
) -> dict[str, Any]:
    with cluster.nodes[by].client() as client:
        response = client.post("/api/v1/aggregate", json=question)
    if response.status_code != 200:
        raise RuntimeError(f"aggregate by {by} failed: {response.status_code} {response.text}")
    answer: dict[str, Any] = response.json()
    print_tables(answer, console)
    return answer


def run_search(cluster: Cluster, search: DemoSearch) -> dict[str, Any]:
    body = {
        "purpose": search.purpose,
        "case_reference": search.case_reference,
        "identifiers": [dict(i) for i in search.identifiers],
    }
    with cluster.nodes[search.by].client() as client:
        response = client.post("/api/v1/search", json=body)
    if response.status_code != 200:
        raise RuntimeError(f"search by {search.by} failed: {response.status_code} {response.text}")
    answer: dict[str, Any] = response.json()
    return answer


def describe(identifier: dict[str, str]) -> str:
    if identifier["type"] == "person":
        return f"person {identifier['name']} ({identifier['date_of_birth']})"
    return f"{identifier['type']} {identifier['value']}"


def show_search(console: Console, search: DemoSearch, answer: dict[str, Any]) -> tuple[int, int]:
    peers = sorted(answer["peers"])
    table = Table(
        title=f"{search.by} asks ({search.purpose}, case {search.case_reference})",
        title_justify="left",
        show_lines=True,
    )
    table.add_column("identifier searched")
    for peer in peers:
        report = answer["peers"][peer]
        table.add_column(f"{peer}\n{report['status']} · {report['latency_ms']:.0f} ms")
    passed = failed = 0
    for result in answer["results"]:
        identifier = search.identifiers[result["index"]]
        cells = []
        for peer in peers:
            outcome = result.get("peers", {}).get(peer, {"outcome": "unanswered"})
            expected = result["index"] in search.expect_hits.get(peer, ())
            got = outcome["outcome"] == "hit"
            if expected == got:
                passed += 1
            else:
                failed += 1
            cells.append(_cell(outcome, expected))
        table.add_row(describe(identifier), *cells)
    console.print(table)
    console.print(f"[italic]{search.story}[/]\n")
    return passed, failed


def _cell(outcome: dict[str, Any], expected: bool) -> str:
    mark = "" if (outcome["outcome"] == "hit") == expected else " [bold red](unexpected)[/]"
    if outcome["outcome"] != "hit":
        text = {"no_hit": "[dim]no hit[/]", "denied": "[yellow]not allowed[/]"}.get(
            outcome["outcome"], f"[red]{outcome['outcome']}[/]"
        )
        return text + mark
    d = outcome.get("disclosure") or {}
    lines = ["[bold green]HIT[/]" + mark]
    if d.get("record_category"):
        lines.append("category: " + ", ".join(d["record_category"]))
    if d.get("date_range"):
        lines.append("recorded: " + " to ".join(dict.fromkeys(d["date_range"])))
    if d.get("hit_reference"):
        lines.append("ref: " + d["hit_reference"])
    if d.get("contact_point"):
        lines.append("contact: " + d["contact_point"])
    if not d:
        lines.append("(hit only)")
    return "\n".join(lines)


def run_demo(
    root: Path,
    *,
    console: Console,
    keep_running: bool = False,
    wait: Callable[[], None] | None = None,
) -> DemoOutcome:
    started = time.perf_counter()
    console.print(Panel.fit("Cordon demo: customs, police and intelligence on one federation"))
    data = generate(root / "agency-data")
    console.print(f"[bold]1.[/] synthetic agency data written to {root / 'agency-data'}")
    cluster = build(root, data)
    console.print(
        f"[bold]2.[/] federation created: authority key, TLS CA, signed manifest with "
        f"{', '.join(cluster.nodes)}"
    )
    console.print(
        "[bold]3.[/] indexing each agency's own data on its own node (blinded tokens only)"
    )
    for agency, results in cluster.index().items():
        for result in results:
            r, s = result.report, result.summary
            console.print(
                f"   {agency:8} {s.dataset:14} {r.rows_read:6,} rows, "
                f"{s.identifiers_indexed:6,} identifiers indexed, "
                f"{r.rows_rejected} rows and {r.fields_rejected} values rejected"
            )
    stage_aggregates(cluster)
    cluster.start()
    try:
        console.print("[bold]4.[/] three nodes up on loopback, peers over mutual TLS\n")
        passed = failed = 0
        for search in data.searches:
            answer = run_search(cluster, search)
            p, f = show_search(console, search, answer)
            passed += p
            failed += f
        console.print("[bold]5.[/] a federated, differentially private aggregate\n")
        run_aggregate(cluster, console)
        console.print(
            "[italic]Each node added its own discrete Gaussian noise (OpenDP) after charging "
            "its privacy ledger; the combined figure is the sum with its 95% interval. A node "
            "whose policy grants no aggregates to the asker answers 'denied'.[/]\n"
        )
        console.print("[bold]6.[/] group keys no list makes public, chosen by a DP threshold\n")
        run_aggregate(cluster, console, question=KEY_SELECTION_QUESTION)
        console.print(
            "[italic]No node publishes its list of commodities: each released only those whose "
            "noisy count passed its threshold, charging delta (the chance a rare commodity "
            "slips through) beside rho.[/]\n"
        )
        verdict = "[bold green]as planted[/]" if failed == 0 else "[bold red]NOT as planted[/]"
        console.print(
            f"{passed} of {passed + failed} hit/no-hit outcomes {verdict}; no raw identifier "
            f"left its node. ({time.perf_counter() - started:.1f} s)"
        )
        if keep_running:
            console.print(Panel.fit(_explore_hint(cluster), title="federation left running"))
            if wait is not None:
                wait()
        return DemoOutcome(passed, failed)
    finally:
        cluster.stop()


def _explore_hint(cluster: Cluster) -> str:
    lines = []
    for agency, member in cluster.nodes.items():
        lines.append(
            f"{agency}: local API {member.local_url}  token {member.analyst_token}\n"
            f"  cordon search --config {member.config_path} --token {member.analyst_token} "
            f"--purpose organised-crime --case DEMO-1 phone=+31612345678"
        )
    lines.append("Press Ctrl-C to stop.")
    return "\n".join(lines)
