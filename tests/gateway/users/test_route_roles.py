"""Every route of the local listener requires a token and checks the role: each role is
refused where it does not belong. A new route without a role check fails this test."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts

from gateway.users.auth import ROLE_CHECK_ATTRIBUTE
from gateway.users.store import ROLES
from tests.gateway.users.asgi_client import AppClient

# Routes anyone may call: liveness, the login that hands out tokens, and the API description.
PUBLIC = {
    ("GET", "/api/v1/health"),
    ("POST", "/api/v1/login"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/redoc"),
}
EVERYONE = frozenset(ROLES)
SEARCHERS = frozenset({"analyst", "officer"})
DPO = frozenset({"dpo"})
READERS = frozenset({"dpo", "auditor"})
# Who each route is meant for (routes of other capabilities are checked for enforcement only).
INTENDED = {
    ("GET", "/api/v1/node"): EVERYONE,
    ("GET", "/api/v1/me"): EVERYONE,
    ("POST", "/api/v1/search"): SEARCHERS,
    ("GET", "/api/v1/policy"): READERS,
    ("GET", "/api/v1/policy/history"): READERS,
    ("GET", "/api/v1/policy/versions/{ref}"): READERS,
    ("POST", "/api/v1/policy/explain"): READERS,
    ("GET", "/api/v1/policy/blocks"): READERS,
    ("POST", "/api/v1/policy/validate"): DPO,
    ("POST", "/api/v1/policy/diff"): DPO,
    ("POST", "/api/v1/policy/dry-run"): DPO,
    ("POST", "/api/v1/policy/apply"): DPO,
    ("POST", "/api/v1/policy/rollback"): DPO,
    ("POST", "/api/v1/policy/blocks/{partner}/lift"): DPO,
}


def _roles_of(dependant: Any) -> frozenset[str] | None:
    for dependency in dependant.dependencies:
        roles = getattr(dependency.call, ROLE_CHECK_ATTRIBUTE, None)
        if roles is not None:
            return frozenset(roles)
        nested = _roles_of(dependency)
        if nested is not None:
            return nested
    return None


def routes(client: AppClient) -> dict[tuple[str, str], frozenset[str] | None]:
    found: dict[tuple[str, str], frozenset[str] | None] = {}
    for route in iter_route_contexts(client.app.routes):
        dependant = getattr(route, "dependant", None)
        roles = _roles_of(dependant) if dependant is not None else None
        for method in sorted(route.methods or {"GET"}):
            if method != "HEAD" and route.path is not None:
                found[(method, route.path)] = roles
    return found


def call(client: AppClient, method: str, path: str, token: str | None) -> int:
    url = re.sub(r"\{[^}]+\}", "x", path)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.request(method, url, headers=headers, json={}).status_code


def test_every_route_but_the_public_ones_checks_a_role(client: AppClient) -> None:
    unchecked = {key for key, roles in routes(client).items() if roles is None}
    assert unchecked == PUBLIC, f"routes without a role check: {sorted(unchecked - PUBLIC)}"


def test_routes_are_for_the_roles_they_are_meant_for(client: AppClient) -> None:
    declared = routes(client)
    for key, roles in INTENDED.items():
        assert declared.get(key) == roles, key


def test_every_checked_route_refuses_a_missing_or_unknown_token(client: AppClient) -> None:
    for (method, path), roles in routes(client).items():
        if roles is None:
            continue
        assert call(client, method, path, None) == 401, (method, path)
        assert call(client, method, path, "cordon_nope_x") == 401, (method, path)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_is_refused_where_it_does_not_belong_and_let_in_where_it_does(
    client: AppClient, tokens: dict[str, str], role: str
) -> None:
    for (method, path), roles in routes(client).items():
        if roles is None:
            continue
        status = call(client, method, path, tokens[role])
        if role in roles:
            assert status not in (401, 403), (role, method, path, status)
        else:
            assert status == 403, (role, method, path, status)


def test_a_revoked_token_is_refused(client: AppClient, tokens: dict[str, str]) -> None:
    node = client.app.state.node
    assert call(client, "GET", "/api/v1/me", tokens["auditor"]) == 200
    node.tokens.revoke("auditor-user", node.clock())
    assert call(client, "GET", "/api/v1/me", tokens["auditor"]) == 401
