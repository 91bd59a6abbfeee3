"""``cordon demo``: the three-agency federation on loopback, end to end."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from gateway.cli.common import console


def _wait_forever() -> None:
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        console.print("stopping the federation")


def demo(
    keep_running: Annotated[
        bool, typer.Option("--keep-running", help="Leave the federation up for exploration.")
    ] = False,
    folder: Annotated[
        Path, typer.Option("--dir", help="Where the demo writes its data and nodes.")
    ] = Path("demo-run"),
) -> None:
    """Generate three agencies' data with a planted smuggling network, start three nodes with
    mutual TLS, index, search across the federation and show what each agency learnt."""
    from gateway.demo.run import run_demo

    outcome = run_demo(
        folder.resolve(), console=console, keep_running=keep_running, wait=_wait_forever
    )
    if outcome.checks_failed:
        raise typer.Exit(1)
