"""``cordon policy ...``: each command works on the node's database, and each error message
is plain and names what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.cli.main import app
from gateway.demo.cluster import Cluster
from policies import load_policy
from tests.gateway.policy_admin.conftest import FIRST, SECOND


@pytest.fixture
def config(cluster: Cluster) -> str:
    return str(cluster.nodes["customs"].config_path)


@pytest.fixture
def second(tmp_path: Path) -> Path:
    path = tmp_path / "second.yaml"
    path.write_text(SECOND, encoding="utf-8")
    return path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["policy", *args])
    return result.exit_code, result.output


def test_validate_accepts_a_good_file_and_gives_its_hash(second: Path, config: str) -> None:
    code, output = run("validate", str(second), "--config", config)
    assert code == 0, output
    assert "valid for this node" in output
    assert load_policy(SECOND).version_hash in output


def test_validate_names_the_line_and_path_of_each_problem(tmp_path: Path, config: str) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(FIRST.replace("quota_per_day", "quota"))
    code, output = run("validate", str(bad), "--config", config)
    assert code == 2
    assert "bad.yaml:14: rules[0].match.quota: unknown key 'quota'" in output
    assert "did you mean 'quota_per_day'?" in output


def test_validate_names_a_partner_outside_the_federation(tmp_path: Path, config: str) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(FIRST.replace("[police]", "[police, fiu]"))
    code, output = run("validate", str(bad), "--config", config)
    assert code == 2
    assert "bad.yaml:8: rules[0].partners[1]: partner 'fiu' is not a member of the federation" in (
        output
    )


def test_validate_without_a_node_checks_the_language_only(second: Path) -> None:
    code, output = run("validate", str(second))
    assert code == 0, output
    assert "not checked against a federation: give --config for that" in output


def test_a_missing_file_is_named(config: str, tmp_path: Path) -> None:
    code, output = run(
        "apply", str(tmp_path / "nope.yaml"), "--author", "a", "--reason", "r", "--config", config
    )
    assert code == 2
    assert "cannot read policy file" in output and "nope.yaml" in output
    assert "No such file or directory" in output


def test_apply_history_show_and_rollback(second: Path, config: str) -> None:
    code, output = run(
        "apply", str(second), "--author", "dpo.anna", "--reason", "containers", "--config", config
    )
    assert code == 0, output
    assert "applied v2" in output and "by dpo.anna: containers" in output
    code, output = run("history", "--config", config)
    assert code == 0
    lines = output.strip().splitlines()
    assert lines[0].startswith("v2 ") and lines[0].endswith("(in force)")
    assert "initial by policy file: first version, from policy.yaml" in lines[1]
    code, output = run("show", "v1", "--config", config)
    assert code == 0 and "identifier_types: [phone]" in output
    code, output = run(
        "rollback", "v1", "--author", "dpo.bert", "--reason", "undo", "--config", config
    )
    assert code == 0, output
    assert "applied v3" in output and "rollback (restores v1) by dpo.bert: undo" in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("rollback", "v9", "--author", "a", "--reason", "r"),
            "there is no policy version 'v9'; versions run from v1 to v1",
        ),
        (
            ("rollback", "newest", "--author", "a", "--reason", "r"),
            "'newest' is not a policy version: give its number (v3 or 3)",
        ),
        (
            ("rollback", "v1", "--author", "a", "--reason", "r"),
            "v1 means the same as v1 in force; nothing to roll back",
        ),
        (("show", "12"), "there is no policy version '12'"),
        (
            ("explain", "--partner", "police", "--purpose", "organised-crime"),
            "say what is asked: identifier types for a match request (--types phone,iban)",
        ),
        (
            ("explain", "--partner", "police", "--purpose", "p", "--dataset", "seizures"),
            "an aggregate request on 'seizures' needs rho",
        ),
        (
            (
                "explain",
                "--partner",
                "police",
                "--purpose",
                "p",
                "--types",
                "phone",
                "--rho",
                "0.1",
            ),
            "not both",
        ),
        (
            ("unblock", "police", "--author", "a", "--reason", "r"),
            "partner 'police' is not blocked",
        ),
    ],
)
def test_errors_are_plain_and_name_what_is_wrong(
    config: str, args: tuple[str, ...], message: str
) -> None:
    code, output = run(*args, "--config", config)
    assert code == 2, output
    assert message in " ".join(output.split())


def test_apply_needs_a_reason_and_says_so(second: Path, config: str) -> None:
    code, output = run("apply", str(second), "--author", "a", "--config", config)
    assert code == 2
    assert "Missing option '--reason'" in output
    code, output = run("apply", str(second), "--author", "a", "--reason", " ", "--config", config)
    assert code == 2
    assert "a reason is required: say why the policy changes" in output


def test_apply_of_the_same_meaning_says_nothing_changes(config: str, tmp_path: Path) -> None:
    same = tmp_path / "same.yaml"
    same.write_text("# comment only\n" + FIRST)
    code, output = run("apply", str(same), "--author", "a", "--reason", "r", "--config", config)
    assert code == 2
    assert "nothing to apply:" in output and "means the same as v1 in force" in output


def test_diff_lists_changes_from_the_version_in_force(second: Path, config: str) -> None:
    code, output = run("diff", str(second), "--config", config)
    assert code == 0, output
    assert "changes from v1 to" in output
    assert "rule 'police-phones': match.identifier_types: added container" in output
    code, output = run("diff", "--config", config)  # the policy file, unchanged
    assert code == 0
    assert "no change in meaning from v1" in output


def test_explain_a_match_and_an_aggregate_request(config: str, second: Path) -> None:
    code, output = run(
        "explain",
        "--partner",
        "police",
        "--purpose",
        "organised-crime",
        "--types",
        "phone,container",
        "--config",
        config,
    )
    assert code == 0, output
    assert "Decision: ALLOWED" in output
    assert "identifier type 'container' not granted" in output
    code, output = run(
        "explain",
        "--partner",
        "police",
        "--purpose",
        "organised-crime",
        "--types",
        "container",
        "--file",
        str(second),
        "--config",
        config,
    )
    assert code == 0 and "Decision: ALLOWED" in output
    code, output = run(
        "explain",
        "--partner",
        "police",
        "--purpose",
        "organised-crime",
        "--dataset",
        "seizures",
        "--columns",
        "port",
        "--rho",
        "0.1",
        "--config",
        config,
    )
    assert code == 0, output
    assert "Decision: DENIED" in output and "rule grants no aggregates" in output


def test_dry_run_prints_figures_by_partner(config: str, second: Path) -> None:
    code, output = run("dry-run", str(second), "--days", "7", "--config", config)
    assert code == 0, output
    assert "replayed 0 peer request(s) since" in output
    assert "(7 days): 0 would be decided differently" in output
    code, output = run("dry-run", str(second), "--days", "0", "--config", config)
    assert code == 2
    assert "days must be between 1 and 366, got 0" in output


def test_blocks_lists_none(config: str) -> None:
    code, output = run("blocks", "--config", config)
    assert code == 0
    assert "no partner is blocked" in output
