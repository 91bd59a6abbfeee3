"""Operating a node: ``cordon index``, ``cordon serve``, ``cordon search``."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from gateway.cli.common import (
    ConfigOption,
    JsonOption,
    TokenOption,
    console,
    friendly_errors,
    post_local,
    print_json,
)
from gateway.config import load_node_config
from gateway.errors import BadRequest
from gateway.indexing import index_node
from gateway.node import build_node
from gateway.server import serve_node


def index(
    config: ConfigOption,
    dataset: Annotated[
        list[str] | None, typer.Option(help="Only these datasets (repeatable).")
    ] = None,
    loaders: Annotated[
        int,
        typer.Option(
            min=0, max=64, help="Separate processes that read and canonicalise (large sources)."
        ),
    ] = 0,
) -> None:
    """Build or refresh the token index from the node's dataset mappings (incremental)."""
    with friendly_errors():
        node = build_node(load_node_config(config))
        try:
            with Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("records"),
                TimeElapsedColumn(),
                console=console,
                transient=False,
            ) as progress:
                results = index_node(node, only=dataset, progress=progress, loaders=loaders)
            staged = []
            if node.aggregates is not None:
                wanted = [d for d in dataset or [] if node.aggregates.holds(d)]
                if not dataset or wanted:
                    staged = node.aggregates.refresh(wanted or None)
        finally:
            node.close()
    for result in results:
        table = Table(
            title=f"dataset {result.summary.dataset} (generation {result.summary.generation})"
        )
        table.add_column("figure")
        table.add_column("value", justify="right")
        s, r = result.summary, result.report
        for label, value in (
            ("rows read", r.rows_read),
            ("rows rejected", r.rows_rejected),
            ("identifier values rejected", r.fields_rejected),
            ("records indexed (new or changed)", s.records_indexed),
            ("records unchanged", s.records_unchanged),
            ("records removed", s.records_removed),
            ("records past retention", s.records_expired),
            ("identifiers indexed", s.identifiers_indexed),
        ):
            table.add_row(label, f"{value:,}")
        console.print(table)
        if r.reasons:
            reasons = Table(title="rejections by reason")
            reasons.add_column("reason")
            reasons.add_column("count", justify="right")
            for reason, count in r.reasons.most_common():
                reasons.add_row(reason, f"{count:,}")
            console.print(reasons)
    if staged:
        from gateway.cli.aggregate import print_staging

        print_staging(staged)


def serve(config: ConfigOption) -> None:
    """Run the node: the federation listener (mutual TLS) and the local listener."""
    with friendly_errors():
        node = build_node(load_node_config(config))
    cfg = node.config

    def ready() -> None:
        console.print(
            f"[bold]{node.agency}[/] serving: peers on https://{cfg.federation_listener.host}:"
            f"{cfg.federation_listener.port} (mutual TLS), local users on "
            f"https://{cfg.local_listener.host}:{cfg.local_listener.port}",
            highlight=False,
        )

    try:
        asyncio.run(serve_node(node, on_ready=ready))
    finally:
        node.close()


def parse_identifier(text: str) -> dict[str, Any]:
    """``TYPE=VALUE``; a person is ``person=NAME|DATE OF BIRTH``."""
    id_type, sep, value = text.partition("=")
    if not sep or not id_type or not value:
        raise BadRequest(
            f"identifier must look like TYPE=VALUE, e.g. phone=+31612345678; got {text!r}"
        )
    id_type = id_type.strip().lower()
    if id_type == "person":
        name, bar, dob = value.partition("|")
        if not bar:
            raise BadRequest("a person is given as person=NAME|DATE OF BIRTH")
        return {"type": "person", "name": name.strip(), "date_of_birth": dob.strip()}
    return {"type": id_type, "value": value}


def search(
    identifiers: Annotated[list[str], typer.Argument(help="TYPE=VALUE ... (person=NAME|DOB)")],
    purpose: Annotated[str, typer.Option(help="Purpose / legal basis of the search.")],
    case: Annotated[str, typer.Option("--case", help="Case reference.")],
    config: ConfigOption,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Ask every partner whether they hold these identifiers (hit / no hit)."""
    with friendly_errors():
        body = {
            "purpose": purpose,
            "case_reference": case,
            "identifiers": [parse_identifier(i) for i in identifiers],
        }
    answer = post_local(config, "/api/v1/search", body, token)
    if as_json:
        print_json(answer)
        return
    print_search_answer(answer, identifiers)


def print_search_answer(answer: dict[str, Any], labels: list[str]) -> None:
    peers = sorted(answer["peers"])
    table = Table(title=f"search {answer['search_id']} — case {answer['case_reference']}")
    table.add_column("identifier")
    for peer in peers:
        report = answer["peers"][peer]
        table.add_column(f"{peer}\n({report['status']}, {report['latency_ms']:.0f} ms)")
    for result in answer["results"]:
        label = labels[result["index"]] if result["index"] < len(labels) else result["type"]
        if result["status"] == "invalid":
            table.add_row(label, *([f"[red]{result['error']}[/]"] + [""] * (len(peers) - 1)))
            continue
        cells = []
        for peer in peers:
            outcome = result["peers"].get(peer, {"outcome": "unanswered"})
            cells.append(_cell(outcome))
        table.add_row(label, *cells)
    console.print(table)


def _cell(outcome: dict[str, Any]) -> str:
    kind = outcome["outcome"]
    if kind != "hit":
        return {"no_hit": "no hit", "denied": "[yellow]denied[/]"}.get(kind, f"[dim]{kind}[/]")
    d = outcome.get("disclosure") or {}
    parts = ["[bold green]HIT[/]"]
    if d.get("record_category"):
        parts.append("/".join(d["record_category"]))
    if d.get("date_range"):
        parts.append("..".join(dict.fromkeys(d["date_range"])))
    if d.get("hit_reference"):
        parts.append(d["hit_reference"])
    return "\n".join(parts)
