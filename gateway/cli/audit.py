"""``cordon audit``: the auditor's tools. ``verify`` works offline with nothing but an export
(or a proof) and the node's public key; the other commands read the node's own database
(``--config``), like ``cordon user add``, and are themselves logged."""

from __future__ import annotations

import getpass
import json
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from rich.table import Table

from gateway.cli.common import ConfigOption, console, err_console, friendly_errors
from gateway.errors import BadRequest

audit_app = typer.Typer(
    help="The tamper-evident audit log: search, summarise, export, prove, verify.",
    no_args_is_help=True,
)

Since = Annotated[
    datetime | None, typer.Option(help="Entries recorded at or after this time (ISO 8601).")
]
Until = Annotated[datetime | None, typer.Option(help="Entries recorded before this time.")]
Partner = Annotated[str | None, typer.Option(help="Entries involving this partner agency.")]
User = Annotated[str | None, typer.Option(help="Entries of this requesting user.")]
Purpose = Annotated[str | None, typer.Option(help="Entries with this purpose.")]
Case = Annotated[str | None, typer.Option("--case", help="Entries with this case reference.")]
QueryType = Annotated[str | None, typer.Option(help="match, search, aggregate, witness-alert, ...")]
Decision = Annotated[str | None, typer.Option(help="allowed, denied, failed or partial.")]
Channel = Annotated[str | None, typer.Option(help="peer, local, outbound or admin.")]


def _filters(**values: Any) -> Any:
    from gateway.audit.search import EntryFilter

    return EntryFilter(**values)


def _open(config: Path) -> Any:
    from gateway.config import load_node_config
    from gateway.node import build_node

    return build_node(load_node_config(config))


def _operator() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _record(node: Any, query_type: str, filters: Any, started: float, **extra: Any) -> None:
    from gateway.audit.schemas import AuditEvent

    node.audit.append(
        AuditEvent(
            channel="local",
            requester_agency=node.agency,
            requester_user=_operator(),
            query_type=query_type,
            decision="allowed",
            recorded_at=node.clock(),
            latency_ms=round((time.perf_counter() - started) * 1000, 2),
            outcome={"filters": filters.describe(), **extra},
        )
    )


@audit_app.command("search")
def search(
    config: ConfigOption,
    since: Since = None,
    until: Until = None,
    partner: Partner = None,
    user: User = None,
    purpose: Purpose = None,
    case: Case = None,
    query_type: QueryType = None,
    decision: Decision = None,
    channel: Channel = None,
    after_seq: Annotated[int, typer.Option(help="Continue after this entry.")] = 0,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON entry per line.")] = False,
) -> None:
    """Find entries; prints a page and the --after-seq to continue from."""
    from gateway.audit.search import search as find

    started = time.perf_counter()
    f = _filters(since=since, until=until, partner=partner, user=user, purpose=purpose,
                 case_reference=case, query_type=query_type, decision=decision,
                 channel=channel)  # fmt: skip
    with friendly_errors():
        node = _open(config)
        try:
            found, cursor = find(node.audit.store, f, after_seq=after_seq, limit=limit)
            _record(node, "audit-search", f, started, returned=len(found))
        finally:
            node.close()
    if as_json:
        for entry in found:
            print(json.dumps(entry, ensure_ascii=False, sort_keys=True))
    else:
        table = Table(title=f"audit entries ({len(found)})")
        for column in ("seq", "time", "channel", "requester", "user", "query", "decision",
                       "purpose", "case", "latency ms"):  # fmt: skip
            table.add_column(column)
        for e in found:
            table.add_row(
                str(e["seq"]), e["time"], e["channel"], e["requester_agency"],
                e["requester_user"], e["query_type"], e["decision"], e.get("purpose") or "",
                e.get("case_reference") or "", e.get("latency_ms") or "",
            )  # fmt: skip
        console.print(table)
    if cursor is not None:
        err_console.print(f"more: --after-seq {cursor}")


@audit_app.command("summary")
def summary(
    config: ConfigOption,
    period: Annotated[str, typer.Option(help="day, week, month or all.")] = "month",
    since: Since = None,
    until: Until = None,
    partner: Partner = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Per partner and period: queries, denials, hits, budget spent, p50/p99 latency."""
    from gateway.audit import summary as summaries

    started = time.perf_counter()
    with friendly_errors():
        if period not in summaries.PERIODS:
            raise BadRequest(f"--period must be one of {', '.join(summaries.PERIODS)}")
        f = _filters(since=since, until=until, partner=partner)
        node = _open(config)
        try:
            docs = summaries.documents(node.audit.store, f)
            rows = summaries.summarise(docs, node.agency, period, partner)
            _record(node, "audit-summary", f, started)
        finally:
            node.close()
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table(title=f"audit summary per partner and {period}")
    columns = ("partner", "direction", "period", "queries", "denied", "failed", "hits",
               "rho_spent", "latency_p50_ms", "latency_p99_ms")  # fmt: skip
    for column in columns:
        table.add_column(column.replace("_", " "))
    for row in rows:
        table.add_row(*("" if row[c] is None else str(row[c]) for c in columns))
    console.print(table)


@audit_app.command("export")
def export(
    output: Annotated[Path, typer.Argument(help="File to write; '-' for standard output.")],
    config: ConfigOption,
    fmt: Annotated[
        str | None, typer.Option("--format", help="jsonl or csv (default: from the name).")
    ] = None,
    since: Since = None,
    until: Until = None,
    partner: Partner = None,
    user: User = None,
    purpose: Purpose = None,
    case: Case = None,
    query_type: QueryType = None,
    decision: Decision = None,
    channel: Channel = None,
    from_seq: Annotated[int | None, typer.Option(help="Start at this entry.")] = None,
    checkpoints: Annotated[int, typer.Option(help="Checkpoints to include.")] = 16,
) -> None:
    """Export entries with the checkpoints and proofs to verify them offline.

    Without content filters: every entry from the start (or --since / --from-seq) to the
    latest checkpoint, so that any change, deletion, insertion or truncation shows. With
    filters (--partner, --user, --until, ...): the matching entries, each with an inclusion
    proof. The format follows the file name (.csv or JSON Lines) or --format."""
    from crypto.keys import public_key_to_text
    from gateway.audit.export import ExportRequest, csv_text, jsonl

    started = time.perf_counter()
    chosen = fmt or ("csv" if output.suffix.lower() == ".csv" else "jsonl")
    f = _filters(since=since, until=until, partner=partner, user=user, purpose=purpose,
                 case_reference=case, query_type=query_type, decision=decision,
                 channel=channel)  # fmt: skip
    with friendly_errors():
        if chosen not in ("jsonl", "csv"):
            raise BadRequest("--format must be jsonl or csv")
        node = _open(config)
        try:
            _record(node, "audit-export", f, started, format=chosen)
            request = ExportRequest(filters=f, from_seq=from_seq, checkpoints=checkpoints)
            key = public_key_to_text(node.signing_key.public_key())
            chunks: Iterator[bytes] = (
                (c.encode("utf-8") for c in csv_text(node.audit, request, key))
                if chosen == "csv"
                else jsonl(node.audit, request, key)
            )
            if str(output) == "-":
                for chunk in chunks:
                    sys.stdout.buffer.write(chunk)
            else:
                with output.open("wb") as handle:
                    for chunk in chunks:
                        handle.write(chunk)
        finally:
            node.close()
    if str(output) != "-":
        err_console.print(f"wrote {output}; check it with: cordon audit verify {output} "
                          f"--public-key {key}")  # fmt: skip


@audit_app.command("checkpoint")
def checkpoint(
    config: ConfigOption,
    issue: Annotated[bool, typer.Option("--issue", help="Sign a new checkpoint now.")] = False,
) -> None:
    """Print the latest signed checkpoint (a new one if the log grew, or with --issue)."""
    with friendly_errors():
        node = _open(config)
        try:
            stored = node.audit.issue_checkpoint() if issue else node.audit.current_checkpoint()
        finally:
            node.close()
    print(stored.signed.to_text(), end="")


@audit_app.command("prove")
def prove(
    config: ConfigOption,
    seq: Annotated[int | None, typer.Option(help="Prove that this entry is in the log.")] = None,
    old_size: Annotated[
        int | None, typer.Option("--old-size", help="Prove this checkpoint's size ...")
    ] = None,
    new_size: Annotated[
        int | None, typer.Option("--new-size", help="... grew into this one (default: latest).")
    ] = None,
) -> None:
    """Write a self-contained inclusion or consistency proof (JSON) to standard output.

    `cordon audit verify PROOF --public-key KEY` checks it offline."""
    from gateway.audit.proof_bundle import consistency_bundle, inclusion_bundle

    with friendly_errors():
        if (seq is None) == (old_size is None):
            raise BadRequest("give either --seq, or --old-size (and optionally --new-size)")
        node = _open(config)
        try:
            if seq is not None:
                bundle = inclusion_bundle(node.audit, seq)
            else:
                bundle = consistency_bundle(node.audit, old_size or 0, new_size)
        finally:
            node.close()
    print(json.dumps(bundle, indent=2))


@audit_app.command("prune")
def prune(
    config: ConfigOption,
    older_than_days: Annotated[int, typer.Option(min=1, help="Retention period in days.")],
) -> None:
    """Remove entries older than the retention period; the pruning is itself logged.

    Their leaf hashes stay, so what remains, and every checkpoint, still verifies."""
    with friendly_errors():
        node = _open(config)
        try:
            outcome = node.audit.prune(older_than_days, user=_operator())
        finally:
            node.close()
    console.print(
        f"removed {outcome.removed} entries; entries up to {outcome.pruned_through} are pruned"
    )


@audit_app.command("witness")
def witness(config: ConfigOption, partner: Partner = None) -> None:
    """What this node saw of its partners' logs, and the alerts it raised."""
    with friendly_errors():
        node = _open(config)
        try:
            observations = node.audit.witnessed.observations(partner, 20)
            alerts = node.audit.witnessed.alerts(partner, 50)
        finally:
            node.close()
    table = Table(title="checkpoints witnessed (latest first)")
    for column in ("partner", "size", "root", "verdict", "seen at"):
        table.add_column(column)
    for o in observations:
        table.add_row(o.partner, str(o.size), o.root.hex()[:16], o.verdict, str(o.seen_at))
    console.print(table)
    for a in alerts:
        console.print(f"[bold red]ALERT[/] {a.raised_at} {a.partner} {a.kind}: {a.detail}")
    if not alerts:
        console.print("no alerts")


def _public_key(text: str) -> Ed25519PublicKey:
    from crypto.errors import CryptoError
    from crypto.keys import load_public_key_pem, public_key_from_text

    value = text.strip()
    path = Path(value)
    if not value.startswith("ed25519:") and path.is_file():
        value = path.read_text(encoding="utf-8").strip()
    try:
        if value.startswith("-----BEGIN"):
            return load_public_key_pem(value.encode())
        return public_key_from_text(value)
    except CryptoError as exc:
        raise BadRequest(f"--public-key: {exc}") from exc


@audit_app.command("verify")
def verify(
    export: Annotated[Path, typer.Argument(help="An export (JSON Lines or CSV) or a proof.")],
    public_key: Annotated[
        str, typer.Option(help="The node's key: 'ed25519:...' or a file holding it.")
    ],
    witness: Annotated[
        list[str] | None,
        typer.Option(help="NAME=KEY: also check this witness's cosignatures (repeatable)."),
    ] = None,
    checkpoint: Annotated[
        list[Path] | None,
        typer.Option(help="A checkpoint obtained elsewhere the export must agree with."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Verify an export or a proof offline, with nothing but the node's public key.

    Take the key from the signed federation manifest or the node's operator, not from the
    export. Reports each modified, deleted, inserted or reordered entry (by sequence
    number), a truncated log, forged checkpoints and checkpoints that contradict each
    other. Exit status 0: every check passed; 1: findings; 2: the files could not be read."""
    from gateway.audit.proof_bundle import verify_bundle
    from gateway.audit.verify import verify_export

    with friendly_errors():
        key = _public_key(public_key)
        witnesses = {}
        for item in witness or []:
            name, sep, text = item.partition("=")
            if not sep:
                raise BadRequest("--witness takes NAME=KEY")
            witnesses[name] = _public_key(text)
        try:
            extra = [p.read_text(encoding="utf-8") for p in checkpoint or []]
            head = export.read_bytes()[:1] if export.is_file() else b""
        except OSError as exc:
            raise BadRequest(f"cannot read: {exc}") from exc
        if not export.is_file():
            raise BadRequest(f"{export} is not a file")
        bundle = _proof_bundle(export) if head == b"{" else None
        if bundle is not None:
            problems = verify_bundle(bundle, key)
            for problem in problems:
                console.print(f"[bold red]FAIL[/] {problem}", highlight=False)
            if not problems:
                console.print(f"[bold green]OK[/] {bundle['kind']} verifies", highlight=False)
            raise typer.Exit(1 if problems else 0)
        report = verify_export(export, key, witnesses=witnesses, extra_checkpoints=extra)
    if as_json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        _print_report(report)
    raise typer.Exit(0 if report.ok else 1)


def _proof_bundle(path: Path) -> dict[str, Any] | None:
    from gateway.audit.proof_bundle import CONSISTENCY, INCLUSION

    try:
        document = json.loads(path.read_bytes())
    except ValueError:
        return None  # a JSON Lines export, not one object
    if isinstance(document, dict) and document.get("kind") in (INCLUSION, CONSISTENCY):
        return document
    return None


def _print_report(report: Any) -> None:
    latest = max(report.checkpoints, key=lambda c: c["size"], default=None)
    console.print(
        f"log {report.origin}: {report.entries} entries in the export "
        f"({report.mode}, seq {report.first_seq}..{report.last_seq}), "
        f"{len(report.checkpoints)} signed checkpoints",
        highlight=False,
    )
    if latest is not None:
        cosigners = ", ".join(latest["cosigned_by"]) or "nobody"
        console.print(
            f"latest checkpoint: size {latest['size']}, root {latest['root']}, "
            f"time {datetime.fromtimestamp(latest['timestamp']).isoformat()} "
            f"(cosigned by {cosigners})",
            highlight=False,
        )
    for f in report.findings:
        where = " ".join(
            part
            for part in (
                f"entry {f.seq}" if f.seq is not None else "",
                f"line {f.line}" if f.line is not None else "",
            )
            if part
        )
        console.print(f"[bold red]{f.kind}[/] {where}: {f.message}", highlight=False)
    if report.ok:
        console.print("[bold green]OK[/]: every check passed")
    else:
        console.print(f"[bold red]{len(report.findings)} finding(s)[/]")
