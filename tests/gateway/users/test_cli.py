"""``cordon user add | list | revoke | token``, and their error messages."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from gateway.cli.main import app
from gateway.demo.cluster import Cluster

PASSWORD = "correct horse battery"


@pytest.fixture
def config(cluster: Cluster) -> str:
    return str(cluster.nodes["customs"].config_path)


def run(*args: str, input: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), input=input)
    return result.exit_code, result.output


def test_add_without_password_prints_a_token_once(config: str) -> None:
    code, output = run("user", "add", "ana", "--role", "analyst", "--config", config)
    assert code == 0, output
    assert "user ana (analyst), token id" in output
    assert "cordon_" in output


def test_add_with_password_asks_twice_and_prints_no_token(config: str) -> None:
    code, output = run(
        "user",
        "add",
        "dora",
        "--role",
        "dpo",
        "--password",
        "--config",
        config,
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert code == 0, output
    assert "user dora (dpo) created; get a token with 'cordon user token dora'" in output
    assert "cordon_" not in output


@pytest.mark.parametrize(
    ("args", "input", "message"),
    [
        (("zed", "--role", "wizard"), None, "role must be one of analyst, dpo, auditor"),
        (("zed", "--role", "dpo", "--password"), "short\nshort\n", "password must be 10-1024"),
    ],
)
def test_add_names_what_is_wrong(
    config: str, args: tuple[str, ...], input: str | None, message: str
) -> None:
    code, output = run("user", "add", *args, "--config", config, input=input)
    assert code == 2
    assert message in output


def test_adding_a_live_user_twice_is_refused(config: str) -> None:
    run("user", "add", "ana", "--role", "analyst", "--config", config)
    code, output = run("user", "add", "ana", "--role", "admin", "--config", config)
    assert code == 2
    assert "user 'ana' exists already (role analyst); revoke it first" in output


def test_list_shows_users_roles_and_live_tokens_and_revoke_ends_them(config: str) -> None:
    run("user", "add", "ana", "--role", "analyst", "--config", config)
    run(
        "user",
        "add",
        "dora",
        "--role",
        "dpo",
        "--password",
        "--config",
        config,
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    code, output = run("user", "list", "--config", config)
    assert code == 0, output
    rows = {line.split("│")[1].strip(): line for line in output.splitlines() if "│" in line}
    assert "analyst" in rows["ana"] and " 1 " in rows["ana"]
    assert "dpo" in rows["dora"] and "yes" in rows["dora"]
    assert "analyst" in rows["analyst"]  # the token the cluster set-up issued directly
    code, output = run("user", "revoke", "ana", "--config", config)
    assert code == 0
    assert "revoked 1 token(s) of ana; password login disabled" in output
    code, output = run("user", "revoke", "ana", "--config", config)
    assert code == 2
    assert "user 'ana' has no live account or token" in output


@pytest.fixture
def serving(cluster: Cluster) -> Iterator[Cluster]:
    cluster.start(agencies=["customs"])
    try:
        yield cluster
    finally:
        cluster.stop()


def test_token_logs_in_to_the_running_node(serving: Cluster, config: str) -> None:
    run(
        "user",
        "add",
        "dora",
        "--role",
        "dpo",
        "--password",
        "--config",
        config,
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    code, output = run("user", "token", "dora", "--config", config, input=f"{PASSWORD}\n")
    assert code == 0, output
    assert "token for dora (dpo), expires" in output
    token = next(w for w in output.split() if w.startswith("cordon_"))
    client = serving.nodes["customs"].client()
    client.headers["Authorization"] = f"Bearer {token}"
    with client:
        assert client.get("/api/v1/policy").status_code == 200
    code, output = run("user", "token", "dora", "--config", config, input="wrong password\n")
    assert code == 2
    assert "the username or password is wrong" in output


def test_token_says_when_the_node_is_not_running(config: str) -> None:
    code, output = run("user", "token", "dora", "--config", config, input=f"{PASSWORD}\n")
    assert code == 2
    assert "cannot reach the node at https://127.0.0.1:" in output
    assert "is it running ('cordon serve')?" in output
