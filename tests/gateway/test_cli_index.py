"""``cordon index`` as an operator runs it: a summary with rejections by reason, and a second
run that finds nothing to redo."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from gateway.cli.main import app
from gateway.demo.cluster import AgencySetup, provision


def test_index_prints_a_summary_and_refreshes_incrementally(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "persons.csv").write_text(
        "ref,phone,role\n"
        "p1,06 12345678,suspect\n"
        "p2,06 1234,suspect\n"  # too short: the identifier is rejected, and with it the row
        "p3,+31 6 8765 4321,associate\n"
        "p4,+31 6 5555 0101,stranger\n",  # unknown subject category: row rejected
        encoding="utf-8",
    )
    (data / "persons.yaml").write_text(
        "dataset: persons\nsource: {kind: csv, path: persons.csv}\nrecord_ref: ref\n"
        "subject_category: {column: role}\nhandling_code: {value: H1}\n"
        "identifiers:\n  - {type: phone, column: phone, default_region: NL}\n",
        encoding="utf-8",
    )
    cluster = provision(
        tmp_path / "fed", [AgencySetup("police", "Police", datasets=(data / "persons.yaml",))]
    )
    config = str(cluster.nodes["police"].config_path)
    runner = CliRunner()
    first = runner.invoke(app, ["index", "--config", config])
    assert first.exit_code == 0, first.output
    assert "dataset persons (generation 1)" in first.output
    lines = {
        line.split("│")[1].strip(): line.split("│")[2].strip()
        for line in first.output.splitlines()
        if line.count("│") == 3
    }
    assert lines["rows read"] == "4"
    assert lines["rows rejected"] == "2"
    assert lines["identifiers indexed"] == "2"
    assert "phone:" in first.output  # the rejection reasons, by field
    assert "06 1234" not in first.output  # never the raw value
    second = runner.invoke(app, ["index", "--config", config])
    assert second.exit_code == 0, second.output
    lines = {
        line.split("│")[1].strip(): line.split("│")[2].strip()
        for line in second.output.splitlines()
        if line.count("│") == 3
    }
    assert lines["records unchanged"] == "2"
    assert lines["records indexed (new or changed)"] == "0"
