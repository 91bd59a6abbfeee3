"""``cordon search`` against a running node, as an analyst types it."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from gateway.cli.main import app
from gateway.demo.cluster import Cluster
from tests.e2e.conftest import SHARED_PHONE_NATIONAL


def _search(federation: Cluster, *args: str) -> tuple[int, str]:
    member = federation.nodes["customs"]
    result = CliRunner().invoke(
        app,
        [
            "search",
            "--config",
            str(member.config_path),
            "--token",
            member.analyst_token,
            "--purpose",
            "organised-crime",
            "--case",
            "CLI-1",
            *args,
        ],
    )
    return result.exit_code, result.output


def test_cli_search_prints_hits_per_partner(federation: Cluster) -> None:
    code, output = _search(federation, f"phone={SHARED_PHONE_NATIONAL}")
    assert code == 0, output
    assert "HIT" in output
    assert "police" in output and "intel" in output


def test_cli_search_json_gives_the_api_answer(federation: Cluster) -> None:
    code, output = _search(federation, "--json", f"phone={SHARED_PHONE_NATIONAL}")
    assert code == 0, output
    answer = json.loads(output)
    assert answer["results"][0]["peers"]["police"]["outcome"] == "hit"


def test_cli_search_names_a_malformed_argument(federation: Cluster) -> None:
    code, output = _search(federation, "phone+31612345678")
    assert code == 2
    assert "TYPE=VALUE" in output


def test_cli_search_without_a_token_says_how_to_get_one(federation: Cluster) -> None:
    member = federation.nodes["customs"]
    result = CliRunner(env={"CORDON_TOKEN": ""}).invoke(
        app,
        [
            "search",
            "--config",
            str(member.config_path),
            "--purpose",
            "p",
            "--case",
            "c",
            "phone=+31612345678",
        ],
    )
    assert result.exit_code == 2
    assert "token" in result.output
