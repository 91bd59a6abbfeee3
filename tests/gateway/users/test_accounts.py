"""Local accounts: argon2id password hashes, password login that hands out expiring tokens,
the same refusal for every failure, throttling of guesses, and revocation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from gateway.app import create_local_app
from gateway.demo.cluster import Cluster
from gateway.node import Node, build_node
from gateway.users.accounts import AccountStore, local_accounts
from tests.gateway.users.asgi_client import AppClient

PASSWORD = "correct horse battery"
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def clocked(cluster: Cluster, clock: Clock) -> Iterator[Node]:
    node = build_node(cluster.nodes["customs"].config, clock=clock)
    try:
        yield node
    finally:
        node.close()


def login(client: AppClient, username: str, password: str) -> tuple[int, dict[str, object]]:
    response = client.post("/api/v1/login", json={"username": username, "password": password})
    body: dict[str, object] = response.json()
    return response.status_code, body


def test_a_password_is_stored_only_as_an_argon2id_hash(node: Node) -> None:
    node.accounts.add("anna", "dpo", PASSWORD, T0)
    with node.engine.connect() as conn:
        stored = conn.execute(select(local_accounts.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert node.accounts.verify("anna", PASSWORD) is not None
    assert node.accounts.verify("anna", PASSWORD + "!") is None
    assert node.accounts.verify("nobody", PASSWORD) is None


def test_a_live_account_cannot_be_added_twice_but_a_revoked_one_can_return(node: Node) -> None:
    node.accounts.add("anna", "dpo", PASSWORD, T0)
    with pytest.raises(ValueError, match="user 'anna' exists already \\(role dpo\\)"):
        node.accounts.add("anna", "admin", PASSWORD, T0)
    assert node.accounts.revoke("anna", T0)
    assert node.accounts.verify("anna", PASSWORD) is None
    node.accounts.add("anna", "auditor", "another long password", T0)
    account = node.accounts.verify("anna", "another long password")
    assert account is not None and account.role == "auditor"


@pytest.mark.parametrize(
    ("username", "role", "password", "message"),
    [
        ("anna", "wizard", PASSWORD, "role must be one of analyst, dpo"),
        ("", "dpo", PASSWORD, "username must be 1-128 characters"),
        ("anna", "dpo", "short", "a password must be 10-1024 characters long \\(got 5\\)"),
    ],
)
def test_bad_accounts_are_refused_with_the_reason(
    node: Node, username: str, role: str, password: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        node.accounts.add(username, role, password, T0)


def test_password_login_gives_a_token_for_the_accounts_role(clocked: Node) -> None:
    clocked.accounts.add("anna", "dpo", PASSWORD, T0)
    client = AppClient(create_local_app(clocked))
    status, body = login(client, "anna", PASSWORD)
    assert status == 200, body
    assert body["role"] == "dpo"
    assert body["expires_at"] == (T0 + timedelta(hours=12)).isoformat()
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.json()["roles"] == ["dpo"]
    entries = [e for e in clocked.audit.recent(10) if e["query_type"] == "login"]
    assert entries[0]["decision"] == "allowed"
    assert entries[0]["requester_user"] == "anna"


def test_a_login_token_expires(clocked: Node, clock: Clock) -> None:
    clocked.accounts.add("anna", "dpo", PASSWORD, T0)
    client = AppClient(create_local_app(clocked))
    token = login(client, "anna", PASSWORD)[1]["token"]
    headers = {"Authorization": f"Bearer {token}"}
    clock.now = T0 + timedelta(hours=11, minutes=59)
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    clock.now = T0 + timedelta(hours=12)
    refused = client.get("/api/v1/me", headers=headers)
    assert refused.status_code == 401
    assert refused.json()["detail"] == "the bearer token is unknown, expired or revoked"


def test_every_login_failure_gets_the_same_answer(node: Node) -> None:
    node.accounts.add("anna", "dpo", PASSWORD, T0)
    node.accounts.add("tokens-only", "analyst", None, T0)
    client = AppClient(create_local_app(node))
    answers = [
        login(client, "anna", "wrong password"),
        login(client, "nobody", PASSWORD),
        login(client, "tokens-only", PASSWORD),
    ]
    assert {status for status, _ in answers} == {401}
    assert {body["detail"] for _, body in answers} == {"the username or password is wrong"}


def test_repeated_wrong_passwords_are_throttled_per_user(clocked: Node, clock: Clock) -> None:
    clocked.accounts.add("anna", "dpo", PASSWORD, T0)
    clocked.accounts.add("bert", "dpo", PASSWORD, T0)
    client = AppClient(create_local_app(clocked))
    for _ in range(10):
        assert login(client, "anna", "guess guess guess")[0] == 401
    status, body = login(client, "anna", PASSWORD)
    assert status == 429
    assert "too many failed logins for this user; try again after 08:15 UTC" in str(body)
    assert login(client, "bert", PASSWORD)[0] == 200
    clock.now = T0 + timedelta(minutes=15)
    assert login(client, "anna", PASSWORD)[0] == 200


def test_revoking_a_user_ends_its_tokens_and_its_login(node: Node) -> None:
    node.accounts.add("anna", "dpo", PASSWORD, T0)
    client = AppClient(create_local_app(node))
    token = login(client, "anna", PASSWORD)[1]["token"]
    node.tokens.revoke("anna", T0)
    node.accounts.revoke("anna", T0)
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert login(client, "anna", PASSWORD)[0] == 401


def test_an_account_store_rehashes_a_password_made_with_weaker_settings(node: Node) -> None:
    weak = AccountStore(node.engine, PasswordHasher(time_cost=1, memory_cost=8192))
    weak.add("anna", "dpo", PASSWORD, T0)
    assert node.accounts.verify("anna", PASSWORD) is not None
    with node.engine.connect() as conn:
        stored = conn.execute(select(local_accounts.c.password_hash)).scalar_one()
    assert "m=65536,t=3" in stored
