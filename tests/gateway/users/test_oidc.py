"""Bearer tokens from an OIDC identity provider: verified with its key set (a file, or a URL
served here on loopback), for the configured issuer and audience; roles from a claim."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from gateway.app import create_local_app
from gateway.config import load_node_config
from gateway.demo.cluster import Cluster
from gateway.errors import ConfigError
from gateway.node import Node, build_node
from tests.gateway.users.asgi_client import AppClient

ISSUER = "https://login.customs.example/realms/cordon"
AUDIENCE = "cordon-customs"


@pytest.fixture(scope="module")
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def key_set(key: rsa.RSAPrivateKey, kid: str = "k1") -> dict[str, Any]:
    jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    return {"keys": [{**jwk, "kid": kid, "use": "sig", "alg": "RS256"}]}


def mint(key: Any, *, algorithm: str = "RS256", kid: str = "k1", **overrides: Any) -> str:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "u-123",
        "iat": now,
        "exp": now + 300,
        "preferred_username": "anna.dpo",
        "roles": ["dpo", "offline_access"],
    }
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid})


def configure(cluster: Cluster, oidc: dict[str, Any]) -> Node:
    path = cluster.nodes["customs"].config_path
    doc = yaml.safe_load(path.read_text())
    doc["oidc"] = oidc
    path.write_text(yaml.safe_dump(doc))
    return build_node(load_node_config(path))


@pytest.fixture
def file_node(cluster: Cluster, signing_key: rsa.RSAPrivateKey) -> Iterator[Node]:
    jwks = cluster.root / "jwks.json"
    jwks.write_text(json.dumps(key_set(signing_key)))
    node = configure(cluster, {"issuer": ISSUER, "audience": AUDIENCE, "jwks": str(jwks)})
    try:
        yield node
    finally:
        node.close()


def me(node: Node, token: str) -> tuple[int, dict[str, Any]]:
    response = AppClient(create_local_app(node)).get(
        "/api/v1/me", headers={"Authorization": f"Bearer {token}"}
    )
    body: dict[str, Any] = response.json()
    return response.status_code, body


def test_a_token_from_the_identity_provider_carries_its_cordon_roles(
    file_node: Node, signing_key: rsa.RSAPrivateKey
) -> None:
    status, body = me(file_node, mint(signing_key))
    assert status == 200, body
    assert body == {"username": "anna.dpo", "roles": ["dpo"], "token_id": "oidc:u-123"}


def test_a_user_with_several_roles_may_use_the_routes_of_each(
    file_node: Node, signing_key: rsa.RSAPrivateKey
) -> None:
    token = mint(signing_key, roles="auditor analyst")
    client = AppClient(create_local_app(file_node))
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/policy", headers=headers).status_code == 200
    assert client.post("/api/v1/policy/validate", headers=headers, json={}).status_code == 403


@pytest.mark.parametrize(
    "overrides",
    [
        {"iss": "https://elsewhere.example"},
        {"aud": "another-service"},
        {"exp": int(time.time()) - 3600},
        {"sub": None},
        {"exp": None},
    ],
    ids=["issuer", "audience", "expired", "no-subject", "no-expiry"],
)
def test_a_token_with_a_wrong_or_missing_claim_is_refused(
    file_node: Node, signing_key: rsa.RSAPrivateKey, overrides: dict[str, Any]
) -> None:
    status, body = me(file_node, mint(signing_key, **overrides))
    assert status == 401
    assert body["detail"] == "the bearer token is unknown, expired or revoked"


def test_a_token_signed_by_another_key_or_with_a_shared_secret_is_refused(
    file_node: Node,
) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert me(file_node, mint(other))[0] == 401
    assert me(file_node, mint(other, kid="unknown"))[0] == 401
    assert me(file_node, mint("a shared secret of 32 bytes......", algorithm="HS256"))[0] == 401
    assert me(file_node, jwt.encode({"sub": "x"}, "", algorithm="none"))[0] == 401


def test_a_user_without_a_cordon_role_is_told_which_claim_to_fix(
    file_node: Node, signing_key: rsa.RSAPrivateKey
) -> None:
    status, body = me(file_node, mint(signing_key, roles=["offline_access"]))
    assert status == 403
    assert "grants 'anna.dpo' no Cordon role (claim 'roles' must name one of" in body["detail"]


class _KeySetHandler(http.server.BaseHTTPRequestHandler):
    body = b"{}"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def key_set_url(signing_key: rsa.RSAPrivateKey) -> Iterator[str]:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    keys = key_set(signing_key)["keys"]
    keys.append({**json.loads(ECAlgorithm.to_jwk(ec_key.public_key())), "kid": "e1"})
    handler = type("Handler", (_KeySetHandler,), {"body": json.dumps({"keys": keys}).encode()})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/certs"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_keys_are_fetched_from_the_providers_key_set_url(
    cluster: Cluster, signing_key: rsa.RSAPrivateKey, key_set_url: str
) -> None:
    node = configure(
        cluster,
        {
            "issuer": ISSUER,
            "audience": AUDIENCE,
            "jwks": key_set_url,
            "role_claim": "realm_access.roles",
            "username_claim": "email",
        },
    )
    try:
        token = mint(
            signing_key, roles=None, realm_access={"roles": ["officer"]}, email="o@customs.example"
        )
        status, body = me(node, token)
        assert status == 200, body
        assert (body["username"], body["roles"]) == ("o@customs.example", ["officer"])
    finally:
        node.close()


@pytest.mark.parametrize(
    ("oidc", "message"),
    [
        ({"issuer": ISSUER, "audience": AUDIENCE}, "oidc.jwks must be non-empty text"),
        (
            {"issuer": ISSUER, "audience": AUDIENCE, "jwks": "x.json", "roles": "r"},
            "unknown key\\(s\\) under oidc: roles",
        ),
        (
            {"issuer": ISSUER, "audience": AUDIENCE, "jwks": "http://idp.example/certs"},
            "oidc.jwks must be an https URL \\(http only on loopback\\)",
        ),
        (
            {"issuer": ISSUER, "audience": AUDIENCE, "jwks": "x.json", "algorithms": ["HS256"]},
            "oidc.algorithms must be a list chosen from RS256",
        ),
    ],
)
def test_a_bad_oidc_section_is_named(cluster: Cluster, oidc: dict[str, Any], message: str) -> None:
    path: Path = cluster.nodes["customs"].config_path
    doc = yaml.safe_load(path.read_text())
    doc["oidc"] = oidc
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(ConfigError, match=message):
        load_node_config(path)


def test_an_unreadable_key_set_file_stops_the_node(cluster: Cluster) -> None:
    with pytest.raises(ConfigError, match="is not a readable key set"):
        configure(cluster, {"issuer": ISSUER, "audience": AUDIENCE, "jwks": "missing.json"})
