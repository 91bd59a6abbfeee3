"""What the CLI commands share: turning Cordon errors into a clean message and exit code."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from gateway.errors import CordonError

console = Console()
err_console = Console(stderr=True)

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
