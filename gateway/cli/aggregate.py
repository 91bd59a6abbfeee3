"""``cordon aggregate``: ask a federated, differentially private aggregate through the node's
local API (``query``), and restage the node's aggregate datasets (``refresh``)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from gateway.aggregates.staging import StagingReport
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

aggregate_app = typer.Typer(
    help="Differentially private aggregates across the federation.", no_args_is_help=True
)


@aggregate_app.command("refresh")
def refresh(
    config: ConfigOption,
    datasets: Annotated[
        list[str] | None, typer.Argument(help="Datasets to refresh (default: all).")
    ] = None,
) -> None:
    """Restage file sources into the node database and start a new cache generation."""
    from gateway.node import build_node

    with friendly_errors():
        node = build_node(load_node_config(config))
        try:
            if node.aggregates is None:
                raise BadRequest("this node declares no aggregate datasets")
            reports = node.aggregates.refresh(datasets or None)
        finally:
            node.close()
    print_staging(reports)


def print_staging(reports: list[StagingReport]) -> None:
    for report in reports:
        where = (
            f"{report.rows_staged:,} rows staged of {report.rows_read:,} read "
            f"({report.rows_without_unit:,} without a privacy unit, "
            f"{report.rows_beyond_bound:,} beyond max_rows_per_unit)"
            if report.staged
            else "read in place from its SQL source"
        )
        console.print(f"{report.dataset}: {where}; cache generation {report.generation}")


def parse_filters(filters: list[str]) -> dict[str, list[str]]:
    parsed: dict[str, list[str]] = {}
    for item in filters:
        name, sep, values = item.partition("=")
        if not sep or not name or not values:
            raise BadRequest(f"--filter {item!r}: expected COLUMN=VALUE[,VALUE...]")
        parsed.setdefault(name, []).extend(v for v in values.split(",") if v)
    return parsed


@aggregate_app.command("query")
def query(
    dataset: Annotated[str, typer.Argument(help="The aggregate dataset, e.g. seizures.")],
    purpose: Annotated[str, typer.Option(help="Purpose, e.g. strategic-analysis.")],
    case: Annotated[str, typer.Option("--case", help="Case or file reference.")],
    config: ConfigOption,
    rho: Annotated[float, typer.Option(help="Privacy loss (zCDP rho) to spend per node.")],
    template: Annotated[str, typer.Option(help="count or sum.")] = "count",
    column: Annotated[str | None, typer.Option(help="The integer column of a sum.")] = None,
    group_by: Annotated[
        str | None,
        typer.Option(
            "--group-by",
            help="One or two columns, comma-separated. A column with no public values gets "
            "its keys chosen by each node's DP threshold (costs delta where the policy "
            "grants it).",
        ),
    ] = None,
    filters: Annotated[
        list[str] | None, typer.Option("--filter", help="COLUMN=VALUE[,VALUE...] (repeatable).")
    ] = None,
    mechanism: Annotated[
        str | None, typer.Option(help="discrete_gaussian (default) or discrete_laplace.")
    ] = None,
    peers: Annotated[str | None, typer.Option(help="Only these partners, comma-separated.")] = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Ask every partner that allows it (and this node) for a noisy aggregate, and sum them."""
    with friendly_errors():
        body: dict[str, Any] = {
            "purpose": purpose,
            "case_reference": case,
            "query": {
                "dataset": dataset,
                "template": template,
                "column": column,
                "group_by": [g for g in (group_by or "").split(",") if g],
                "filters": parse_filters(filters or []),
                "rho": rho,
                "mechanism": mechanism,
            },
        }
        if peers:
            body["peers"] = [p for p in peers.split(",") if p]
    answer = post_local(config, "/api/v1/aggregate", body, token)
    if as_json:
        print_json(answer)
        return
    print_aggregate_answer(answer)


def print_aggregate_answer(answer: dict[str, Any]) -> None:
    """Per group: each node's noisy value and the combined value with its 95% interval; then
    per node: mechanism, noise scale, rho charged and budget left (and the delta of keys
    chosen by a DP threshold)."""
    print_tables(answer)


def _statuses(answer: dict[str, Any]) -> list[dict[str, Any]]:
    own = [answer["own"]] if answer.get("own") else []
    return [*own, *answer["peers"]]


def aggregate_table(answer: dict[str, Any]) -> Table:
    query, combined = answer["query"], answer["combined"]
    what = query["template"] + (f"({query['column']})" if query.get("column") else "")
    table = Table(title=f"{what} of {query['dataset']} by {', '.join(query['group_by']) or '-'}")
    table.add_column("group")
    statuses = _statuses(answer)
    for status in statuses:
        table.add_column(status["agency"], justify="right")
    table.add_column("combined (95% interval)", justify="right")
    by_agency = {s["agency"]: s.get("aggregate") for s in statuses}
    groups_of = {
        agency: {tuple(g["key"]): g for g in aggregate["groups"]}
        for agency, aggregate in by_agency.items()
        if aggregate is not None
    }
    partial = False
    for group in combined["groups"]:
        key = tuple(group["key"])
        cells = []
        for status in statuses:
            aggregate = by_agency[status["agency"]]
            if aggregate is None:
                cells.append(f"[dim]{status['status']}[/]")
                continue
            mine = groups_of[status["agency"]].get(key)
            if mine is None:
                cells.append("[dim]below threshold[/]" if aggregate.get("key_selection") else "-")
            else:
                cells.append("[yellow]suppressed[/]" if mine["suppressed"] else str(mine["value"]))
        if group["suppressed"]:
            total = "[yellow]suppressed[/]"
        else:
            total = f"{group['value']} [{group['ci_low']:.0f}, {group['ci_high']:.0f}]"
        if group.get("missing_from"):
            partial = True
            total += " *"
        table.add_row(" / ".join(group["key"]) or "total", *cells, total)
    if partial:
        table.caption = (
            "* summed over the nodes that listed the group (keys chosen by DP threshold)"
        )
    elif not combined["groups"] and any(
        (s.get("aggregate") or {}).get("key_selection") for s in statuses
    ):
        table.caption = "no group passed any node's DP threshold"
    return table


def budget_table(answer: dict[str, Any]) -> Table:
    table = Table(title="privacy loss (zCDP rho)")
    names = ["node", "status", "noise", "scale", "rho charged", "budget left"]
    for name in names:
        table.add_column(name, justify="left" if name in ("node", "status") else "right")
    for status in _statuses(answer):
        aggregate = status.get("aggregate")
        if aggregate is None:
            table.add_row(status["agency"], status["status"], "", "", "", "")
            continue
        table.add_row(
            status["agency"],
            "cached" if aggregate["cached"] else "ok",
            aggregate["mechanism"].removeprefix("discrete_"),
            f"{aggregate['scale']:.2f}",
            f"{aggregate['rho_charged']:.4f}",
            f"{aggregate['budget_left']:.4f}",
        )
    combined = answer["combined"]
    left = combined["budget_left_min"]
    table.add_row(
        "combined",
        f"{len(combined['responders'])} nodes",
        "",
        f"±{combined['ci95_half_width']:.1f}",
        f"{combined['rho_charged']:.4f}",
        "" if left is None else f"min {left:.4f}",
    )
    return table


def selection_table(answer: dict[str, Any]) -> Table | None:
    """Per node, how its group keys were chosen by a DP threshold and the delta that cost;
    ``None`` when every node answered over public keys."""
    statuses = [s for s in _statuses(answer) if s.get("aggregate")]
    if not any(s["aggregate"].get("key_selection") for s in statuses):
        return None
    table = Table(title="keys chosen by DP threshold (delta)")
    for name in ("node", "threshold", "delta charged", "delta left"):
        table.add_column(name, justify="left" if name == "node" else "right")
    for status in statuses:
        chosen = status["aggregate"].get("key_selection")
        if chosen is None:
            table.add_row(status["agency"], "public keys", "0", "")
            continue
        table.add_row(
            status["agency"],
            str(chosen["threshold"]),
            f"{chosen['delta_charged']:.2e}",
            f"{chosen['delta_left']:.2e}",
        )
    table.add_row("combined", "", f"{answer['combined'].get('delta_charged', 0.0):.2e}", "")
    return table


def print_tables(answer: dict[str, Any], out: Console = console) -> None:
    """The aggregate, the rho each node charged and, when keys were chosen by a DP
    threshold, the delta."""
    out.print(aggregate_table(answer))
    out.print(budget_table(answer))
    chosen = selection_table(answer)
    if chosen is not None:
        out.print(chosen)
    for status in _statuses(answer):
        if status["status"] not in ("ok", "cached") and status.get("detail"):
            out.print(f"[dim]{status['agency']}: {status['status']}: {status['detail']}[/]")
