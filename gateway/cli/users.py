"""``cordon user ...``: the node's local users. ``add``, ``revoke`` and ``list`` work on the
node's database directly; ``token`` logs in to the running node with a password."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated

import httpx
import typer
from rich.table import Table
from sqlalchemy import Engine

from gateway.cli.common import ConfigOption, console, friendly_errors
from gateway.config import load_node_config
from gateway.errors import BadRequest, NotAuthenticated, PeerError
from gateway.federation.tls import local_client_context
from gateway.node import open_database, utc_now
from gateway.users.accounts import AccountStore
from gateway.users.store import ROLES, TokenStore

user_app = typer.Typer(
    help=f"Local users: accounts with passwords, API tokens, roles ({', '.join(ROLES)}).",
    no_args_is_help=True,
)


@contextlib.contextmanager
def _database(config_path: ConfigOption) -> Iterator[Engine]:
    engine = open_database(load_node_config(config_path))
    try:
        yield engine
    finally:
        engine.dispose()


def _when(moment: datetime | None) -> str:
    if moment is None:
        return ""
    if moment.tzinfo is None:  # SQLite gives back naive UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


@user_app.command("add")
def add(
    username: Annotated[str, typer.Argument(help="The user's name.")],
    role: Annotated[str, typer.Option(help=f"One of: {', '.join(ROLES)}.")],
    config: ConfigOption,
    password: Annotated[
        bool,
        typer.Option(
            "--password",
            help="Ask for a password (for 'cordon user token' and POST /api/v1/login) "
            "instead of printing an API token.",
        ),
    ] = False,
) -> None:
    """Create a local user: with --password, one who logs in; otherwise an API token, shown once."""
    with friendly_errors():
        secret = None
        if password:
            secret = typer.prompt(
                f"password for {username}", hide_input=True, confirmation_prompt=True
            )
        with _database(config) as engine:
            now = utc_now()
            try:
                account = AccountStore(engine).add(username, role, secret, now)
                issued = None if password else TokenStore(engine).issue(username, role, now)
            except ValueError as exc:
                raise BadRequest(str(exc)) from exc
    if issued is None:
        console.print(
            f"user {account.username} ({account.role}) created; get a token with "
            f"'cordon user token {account.username}'",
            highlight=False,
        )
        return
    console.print(
        f"user {issued.user.username} ({issued.user.role}), token id {issued.user.token_id}",
        highlight=False,
    )
    console.print(issued.token, highlight=False, soft_wrap=True)


@user_app.command("revoke")
def revoke(
    username: Annotated[str, typer.Argument(help="The user to revoke.")],
    config: ConfigOption,
) -> None:
    """Revoke every live token of a user and disable their password login."""
    with friendly_errors(), _database(config) as engine:
        now = utc_now()
        count = TokenStore(engine).revoke(username, now)
        disabled = AccountStore(engine).revoke(username, now)
        if not count and not disabled:
            raise BadRequest(f"user '{username}' has no live account or token")
    login = "; password login disabled" if disabled else ""
    console.print(f"revoked {count} token(s) of {username}{login}", highlight=False)


@user_app.command("list")
def list_users(config: ConfigOption) -> None:
    """List local users, their roles, and how many live tokens each has."""
    with friendly_errors(), _database(config) as engine:
        now = utc_now()
        accounts = {a.username: a for a in AccountStore(engine).list()}
        holders = TokenStore(engine).holders(now)
    table = Table(title="local users")
    for column in ("user", "roles", "password", "live tokens", "created", "revoked"):
        table.add_column(column)
    for name in sorted(set(accounts) | {h.username for h in holders}):
        account = accounts.get(name)
        mine = [h for h in holders if h.username == name]
        roles = {h.role for h in mine} | ({account.role} if account else set())
        table.add_row(
            name,
            ", ".join(sorted(roles)),
            "yes" if account is not None and account.has_password else "no",
            str(sum(h.live_tokens for h in mine)),
            _when(account.created_at if account else min(h.first_issued for h in mine)),
            _when(account.revoked_at if account else None),
        )
    console.print(table)


@user_app.command("token")
def token(
    username: Annotated[str, typer.Argument(help="The account to log in as.")],
    config: ConfigOption,
) -> None:
    """Log in to the running node with the account's password and print a token (it expires)."""
    with friendly_errors():
        cfg = load_node_config(config)
        secret = typer.prompt(f"password for {username}", hide_input=True)
        url = f"https://{cfg.local_listener.host}:{cfg.local_listener.port}/api/v1/login"
        try:
            with httpx.Client(verify=local_client_context(cfg.federation_ca), timeout=30) as c:
                response = c.post(url, json={"username": username, "password": secret})
        except httpx.HTTPError as exc:
            raise PeerError(
                f"cannot reach the node at {url} ({type(exc).__name__}): is it running "
                "('cordon serve')?"
            ) from exc
        if response.status_code == 401:
            raise NotAuthenticated("the username or password is wrong")
        if response.status_code != 200:
            raise BadRequest(f"login refused ({response.status_code}): {_detail(response)}")
    answer = response.json()
    console.print(
        f"token for {answer['username']} ({answer['role']}), expires {answer['expires_at']}",
        highlight=False,
    )
    console.print(answer["token"], highlight=False, soft_wrap=True)


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    return str(body.get("detail", body)) if isinstance(body, dict) else str(body)[:200]
