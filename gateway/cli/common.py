"""What the CLI commands share: turning Cordon errors into a clean message and exit code."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console

from gateway.config import load_node_config
from gateway.errors import BadRequest, CordonError
from gateway.federation.tls import local_client_context

console = Console()
err_console = Console(stderr=True)

TokenOption = Annotated[
    str | None, typer.Option(help="Local API token.", envvar="CORDON_TOKEN", show_default=False)
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the raw JSON answer.")]

ConfigOption = Annotated[
    Path,
    typer.Option("--config", "-c", help="The node's node.yaml.", envvar="CORDON_CONFIG"),
]


@contextlib.contextmanager
def friendly_errors() -> Iterator[None]:
    """Print a domain error as one readable line and exit 2; never a traceback."""
    from policies import PolicyError

    try:
        yield
    except (CordonError, PolicyError) as exc:
        err_console.print(
            f"[bold red]error:[/] {exc}", soft_wrap=True, highlight=False, markup=True
        )
        raise typer.Exit(2) from exc


def post_local(config: Path, path: str, body: dict[str, Any], token: str | None) -> dict[str, Any]:
    """POST ``body`` to the node's own local API as the token's user; on an error answer,
    print it and exit 2. TLS is verified against the federation CA the node was given."""
    with friendly_errors():
        if not token:
            raise BadRequest("a local API token is needed: --token or CORDON_TOKEN")
        cfg = load_node_config(config)
        url = f"https://{cfg.local_listener.host}:{cfg.local_listener.port}{path}"
        with httpx.Client(verify=local_client_context(cfg.federation_ca), timeout=60) as client:
            response = client.post(url, json=body, headers={"Authorization": f"Bearer {token}"})
    if response.status_code != 200:
        err_console.print(f"[bold red]error ({response.status_code}):[/] {response.text}")
        raise typer.Exit(2)
    answer: dict[str, Any] = response.json()
    return answer


def print_json(answer: dict[str, Any]) -> None:
    console.print_json(json.dumps(answer))
