"""The README's demo, run as a user would: every planted link surfaces, every decoy misses."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from gateway.cli.main import app


def test_the_demo_surfaces_the_planted_network_and_exits_zero(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--dir", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output
    assert "as planted" in result.output
    assert "NOT as planted" not in result.output
    assert "unexpected" not in result.output
    assert "HIT" in result.output and "no hit" in result.output
