"""``cordon policy ...``: the data-protection officer's commands. They work on the node's
database directly (on the node's host, with its ``node.yaml``), so they work while the node
runs — a running node picks up an applied version with its next request — and while it is
stopped because the version in force no longer fits the federation."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from connectors.vocabulary import IDENTIFIER_TYPES
from crypto.errors import CryptoError
from crypto.keys import public_key_from_text
from gateway.audit.service import AuditLog
from gateway.cli.common import ConfigOption, console, friendly_errors
from gateway.config import load_node_config
from gateway.errors import BadRequest, ConfigError
from gateway.federation.manifest import load_manifest
from gateway.node import open_database, utc_now
from gateway.policy_admin.dry_run import DryRunReport
from gateway.policy_admin.service import PolicyAdmin, explain_request
from gateway.policy_admin.store import StoredVersion
from gateway.policy_source import PolicySource
from gateway.quotas.service import QuotaService
from gateway.quotas.store import QuotaStore
from policies import load_policy

policy_app = typer.Typer(
    help="The node's access policy: validate, compare, dry-run, apply, roll back, explain.",
    no_args_is_help=True,
)

FileArgument = Annotated[Path, typer.Argument(help="A policy YAML file.", show_default=False)]
Author = Annotated[str, typer.Option(help="Who makes the change (kept with the version).")]
Reason = Annotated[str, typer.Option(help="Why the policy changes (kept with the version).")]
DRY_RUN_FIGURES = (
    "requests",
    "changed",
    "newly allowed",
    "newly denied",
    "other rule",
    "ids newly allowed",
    "ids newly denied",
)


@contextlib.contextmanager
def _opened(config_path: Path) -> Iterator[tuple[PolicyAdmin, QuotaService]]:
    cfg = load_node_config(config_path)
    try:
        authority = public_key_from_text(cfg.authority_public_key)
    except (CryptoError, ValueError) as exc:
        raise ConfigError(f"{cfg.path}: authority_public_key is not an Ed25519 key") from exc
    manifest = load_manifest(cfg.manifest, authority)
    engine = open_database(cfg)
    audit = AuditLog(engine, agency=cfg.agency, clock=utc_now)
    try:
        source = PolicySource(
            engine,
            cfg.policy,
            agency=cfg.agency,
            partners=[m.agency for m in manifest.peers_of(cfg.agency)],
            identifier_types=IDENTIFIER_TYPES,
            audit=audit,
            clock=utc_now,
        )
        yield (
            PolicyAdmin(source, audit, cfg.agency, utc_now),
            QuotaService(QuotaStore(engine), audit, cfg.agency, utc_now),
        )
    finally:
        audit.close()
        engine.dispose()


def say(text: str) -> None:
    """Print plain text as is: no wrapping (lines stay whole for copying), no markup."""
    console.print(text, highlight=False, markup=False, soft_wrap=True)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BadRequest(f"cannot read policy file {path}: {exc.strerror or exc}") from exc


def _names(text: str | None) -> list[str]:
    return [name.strip() for name in (text or "").split(",") if name.strip()]


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _describe(version: StoredVersion) -> str:
    restored = f" (restores v{version.restores})" if version.restores else ""
    return (
        f"{version.label}  {version.version_hash[:12]}  {_when(version.applied_at)}  "
        f"{version.action}{restored} by {version.author}: {version.reason}"
    )


@policy_app.command("validate")
def validate(
    file: FileArgument,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            envvar="CORDON_CONFIG",
            help="The node's node.yaml: also check partners and identifier types against "
            "the federation.",
        ),
    ] = None,
) -> None:
    """Check a policy file and list every problem with its line."""
    with friendly_errors():
        text = _read(file)
        if config is None:
            policy = load_policy(text, source=str(file))
            say(
                f"{file}: valid as a policy (not checked against a federation: "
                "give --config for that)"
            )
        else:
            with _opened(config) as (admin, _quotas):
                policy = admin.check(text, source=str(file))
            say(f"{file}: valid for this node")
    say(f"version hash {policy.version_hash}")


@policy_app.command("show")
def show(
    config: ConfigOption,
    version: Annotated[
        str | None, typer.Argument(help="v3, 3 or a hash prefix; default: the one in force.")
    ] = None,
) -> None:
    """Print the text of the version in force (or of another version)."""
    with friendly_errors(), _opened(config) as (admin, _quotas):
        found = admin.version(version)
    say(f"# {_describe(found)}")
    console.print(found.text, highlight=False, markup=False, soft_wrap=True, end="")


@policy_app.command("history")
def history(
    config: ConfigOption,
    limit: Annotated[int, typer.Option(help="How many versions, newest first.")] = 20,
) -> None:
    """List the applied versions: number, hash, time, author and reason."""
    with friendly_errors(), _opened(config) as (admin, _quotas):
        versions = admin.history(limit)
    for index, version in enumerate(versions):
        mark = "  (in force)" if index == 0 else ""
        say(_describe(version) + mark)


@policy_app.command("diff")
def diff(
    config: ConfigOption,
    file: Annotated[
        Path | None,
        typer.Argument(
            help="Proposed policy; default: the node's policy file.", show_default=False
        ),
    ] = None,
    against: Annotated[
        str | None, typer.Option(help="Compare with this version instead of the one in force.")
    ] = None,
) -> None:
    """What a proposed policy changes, compared with the version in force, one line each."""
    with friendly_errors(), _opened(config) as (admin, _quotas):
        path = file or admin.policy_file
        result = admin.diff(_read(path), against=against, source=str(path))
    if not result.changes:
        say(f"no change in meaning from {result.base.label}")
        return
    say(f"changes from {result.base.label} to {path}:")
    for change in result.changes:
        say(f"  {change}")


@policy_app.command("dry-run")
def dry_run(
    file: FileArgument,
    config: ConfigOption,
    days: Annotated[int, typer.Option(help="Replay the audit entries of this many days.")] = 30,
    examples: Annotated[int, typer.Option(help="How many changed requests to show.")] = 10,
) -> None:
    """Replay recent peer requests against a proposed policy; report what would change."""
    with friendly_errors(), _opened(config) as (admin, _quotas):
        report = admin.dry_run(_read(file), days=days, examples=examples, source=str(file))
    print_dry_run(report, days)


def print_dry_run(report: DryRunReport, days: int) -> None:
    say(
        f"replayed {report.replayed} peer request(s) since {_when(report.since)} "
        f"({days} days): {report.changed} would be decided differently"
    )
    if report.groups:
        table = Table(title="by partner and query type")
        table.add_column("partner")
        table.add_column("query")
        for column in DRY_RUN_FIGURES:
            table.add_column(column, justify="right")
        for g in report.groups:
            figures = (
                g.requests,
                g.changed,
                g.newly_allowed,
                g.newly_denied,
                g.rule_changed,
                g.identifiers_newly_allowed,
                g.identifiers_newly_denied,
            )
            table.add_row(g.partner, g.query_type, *map(str, figures))
        console.print(table)
    for reason, count in sorted(report.skipped.items()):
        say(f"not replayed: {count} ({reason})")
    for e in report.examples:
        say(
            f"  #{e.seq} {_when(e.recorded_at)} {e.partner} {e.query_type} {e.subject} "
            f"({e.purpose}): {e.before} -> {e.after}"
        )


@policy_app.command("apply")
def apply(
    file: FileArgument,
    author: Author,
    reason: Reason,
    config: ConfigOption,
    base_version: Annotated[
        int | None, typer.Option(help="Apply only if this version is still in force.")
    ] = None,
) -> None:
    """Put a policy in force as a new version (a running node uses it from its next request)."""
    with friendly_errors(), _opened(config) as (admin, _quotas):
        version = admin.apply(
            _read(file),
            author=author,
            reason=reason,
            base_version=base_version,
            source=str(file),
        )
    say(f"applied {_describe(version)}")


@policy_app.command("rollback")
def rollback(
    version: Annotated[str, typer.Argument(help="The version to restore: v3, 3 or a hash prefix.")],
    author: Author,
    reason: Reason,
    config: ConfigOption,
) -> None:
    """Put an earlier version back in force (as a new version, so history is kept)."""
    with friendly_errors(), _opened(config) as (admin, _quotas):
        restored = admin.rollback(version, author=author, reason=reason)
    say(f"applied {_describe(restored)}")


@policy_app.command("explain")
def explain(
    partner: Annotated[str, typer.Option(help="The partner agency asking.")],
    purpose: Annotated[str, typer.Option(help="The purpose it invokes.")],
    config: ConfigOption,
    types: Annotated[
        str | None, typer.Option(help="Match request: identifier types, e.g. phone,iban.")
    ] = None,
    dataset: Annotated[str | None, typer.Option(help="The dataset asked about.")] = None,
    columns: Annotated[
        str | None, typer.Option(help="Aggregate request: columns used, e.g. port,quantity_kg.")
    ] = None,
    group_by: Annotated[str | None, typer.Option(help="Aggregate request: grouping.")] = None,
    rho: Annotated[float | None, typer.Option(help="Aggregate request: rho asked.")] = None,
    version: Annotated[str | None, typer.Option(help="Explain with this stored version.")] = None,
    file: Annotated[
        Path | None, typer.Option("--file", help="Explain with a proposed policy file.")
    ] = None,
) -> None:
    """Which rule allows or denies a request, and why every other rule does not apply."""
    with friendly_errors():
        asked = explain_request(
            partner,
            purpose,
            types=_names(types),
            dataset=dataset,
            columns=_names(columns),
            group_by=_names(group_by),
            rho=rho,
        )
        text = _read(file) if file is not None else None
        with _opened(config) as (admin, _quotas):
            explanation = admin.explain(
                asked, text=text, version=version, source=str(file or "proposed policy")
            )
    say(explanation.to_text())


@policy_app.command("blocks")
def blocks(config: ConfigOption) -> None:
    """List partners blocked after a probing alert."""
    with friendly_errors(), _opened(config) as (_admin, quotas):
        found = quotas.blocks()
    if not found:
        say("no partner is blocked")
    for block in found:
        until = datetime.fromtimestamp(block.blocked_until, UTC)
        say(f"{block.partner}: until {_when(until)}: {block.reason}")


@policy_app.command("unblock")
def unblock(
    partner: Annotated[str, typer.Argument(help="The partner agency to unblock.")],
    author: Author,
    reason: Reason,
    config: ConfigOption,
) -> None:
    """Lift a partner's probing block before it ends."""
    with friendly_errors(), _opened(config) as (_admin, quotas):
        quotas.unblock(partner, author=author, reason=reason)
    say(f"{partner} is no longer blocked")
