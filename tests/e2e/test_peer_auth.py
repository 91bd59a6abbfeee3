"""Refusals on the federation listener: every forged, replayed or confused peer request is
refused the same way, and transport without the federation's client certificate never
reaches the application."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from crypto.keys import generate_signing_key, key_id, load_private_key, private_key_to_pem
from crypto.pki import (
    cert_to_pem,
    create_ca,
    ec_key_to_pem,
    issue_node_certificate,
    load_cert_pem,
    load_ec_key_pem,
)
from gateway.demo.cluster import Cluster
from gateway.federation.client import encode_body
from gateway.matching.search import MATCH_PATH

REFUSED = {"error": "not_authenticated", "detail": "peer request refused"}
BODY = encode_body(
    {
        "vocabulary": 1,
        "queries": [{"ref": "q0", "id_type": "phone", "epoch": 1, "token": "00" * 32}],
    }
)


def _context(cert: Path | None, key: Path | None, ca: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(ca))
    if cert is not None and key is not None:
        context.load_cert_chain(str(cert), str(key))
    return context


@pytest.fixture
def as_customs(federation: Cluster) -> Iterator[httpx.Client]:
    """A client presenting customs' real TLS certificate to the police node."""
    customs, police = federation.nodes["customs"].config, federation.nodes["police"].config
    context = _context(customs.tls_certificate, customs.tls_key, customs.federation_ca)
    with httpx.Client(base_url=police.public_url, verify=context, timeout=5) as client:
        yield client


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "iss": "customs",
        "aud": "police",
        "iat": now,
        "exp": now + 60,
        "jti": secrets.token_urlsafe(16),
        "purpose": "organised-crime",
        "case_ref": "CASE-1",
        "sub": "analyst",
        "body_sha256": hashlib.sha256(BODY).hexdigest(),
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def customs_key(federation: Cluster) -> Any:
    return load_private_key(federation.nodes["customs"].config.signing_key.read_bytes())


def token(federation: Cluster, payload: dict[str, Any]) -> str:
    key = customs_key(federation)
    return jwt.encode(payload, key, algorithm="EdDSA", headers=header_for(key))


def header_for(key: Any, **extra: Any) -> dict[str, Any]:
    """The header a genuine Cordon peer token carries (``alg`` is added by pyjwt)."""
    return {"typ": "cordon-peer+jwt", "kid": key_id(key.public_key()), **extra}


def post(client: httpx.Client, bearer: str, body: bytes = BODY) -> httpx.Response:
    return client.post(MATCH_PATH, content=body, headers={"Authorization": f"Bearer {bearer}"})


def test_a_well_formed_request_is_answered_and_signed(
    federation: Cluster, as_customs: httpx.Client
) -> None:
    response = post(as_customs, token(federation, claims()))
    assert response.status_code == 200
    assert response.headers["Cordon-Signature"]
    assert response.json()["responder"] == "police"


def test_a_replayed_token_is_refused(federation: Cluster, as_customs: httpx.Client) -> None:
    bearer = token(federation, claims())
    assert post(as_customs, bearer).status_code == 200
    replay = post(as_customs, bearer)
    assert replay.status_code == 401
    assert replay.json() == REFUSED


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_alg_none_is_refused(federation: Cluster, as_customs: httpx.Client) -> None:
    header = _b64(json.dumps({"alg": "none", **header_for(customs_key(federation))}).encode())
    payload = _b64(json.dumps(claims()).encode())
    response = post(as_customs, f"{header}.{payload}.")
    assert (response.status_code, response.json()) == (401, REFUSED)


def test_hs256_signed_with_the_public_key_is_refused(
    federation: Cluster, as_customs: httpx.Client
) -> None:
    import hmac

    public = customs_key(federation).public_key().public_bytes_raw()
    header = _b64(json.dumps({"alg": "HS256", **header_for(customs_key(federation))}).encode())
    payload = _b64(json.dumps(claims()).encode())
    signature = hmac.new(public, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    response = post(as_customs, f"{header}.{payload}.{_b64(signature)}")
    assert (response.status_code, response.json()) == (401, REFUSED)


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"exp": int(time.time()) - 30, "iat": int(time.time()) - 90}, id="expired"),
        pytest.param({"aud": "intel"}, id="wrong-audience"),
        pytest.param({"iss": "intel"}, id="issuer-differs-from-tls-peer"),
        pytest.param({"exp": int(time.time()) + 600}, id="lifetime-over-120s"),
        pytest.param(
            {"body_sha256": hashlib.sha256(b"other").hexdigest()}, id="body-hash-mismatch"
        ),
    ],
)
def test_a_token_with_a_bad_claim_is_refused(
    federation: Cluster, as_customs: httpx.Client, overrides: dict[str, Any]
) -> None:
    response = post(as_customs, token(federation, claims(**overrides)))
    assert (response.status_code, response.json()) == (401, REFUSED)


@pytest.mark.parametrize(
    "missing", ["iss", "aud", "iat", "exp", "jti", "purpose", "case_ref", "sub", "body_sha256"]
)
def test_a_token_missing_a_required_claim_is_refused(
    federation: Cluster, as_customs: httpx.Client, missing: str
) -> None:
    response = post(as_customs, token(federation, claims(**{missing: None})))
    assert (response.status_code, response.json()) == (401, REFUSED)


def test_a_body_altered_after_signing_is_refused(
    federation: Cluster, as_customs: httpx.Client
) -> None:
    altered = BODY.replace(b'"00', b'"11', 1)
    response = post(as_customs, token(federation, claims()), body=altered)
    assert (response.status_code, response.json()) == (401, REFUSED)


def test_a_token_signed_by_another_key_is_refused(
    federation: Cluster, as_customs: httpx.Client
) -> None:
    other = generate_signing_key()
    # the header names customs' key id, so the only defect is the signature
    forged = jwt.encode(
        claims(), other, algorithm="EdDSA", headers=header_for(customs_key(federation))
    )
    response = post(as_customs, forged)
    assert (response.status_code, response.json()) == (401, REFUSED)


def test_a_connection_without_a_client_certificate_is_refused(federation: Cluster) -> None:
    police = federation.nodes["police"].config
    context = _context(None, None, police.federation_ca)
    with httpx.Client(base_url=police.public_url, verify=context, timeout=5) as client:
        with pytest.raises(httpx.TransportError):
            client.post(MATCH_PATH, content=BODY).raise_for_status()


def _foreign_identity(
    tmp_path: Path, agency: str, ca: tuple[Any, Any] | None = None
) -> tuple[Path, Path]:
    ca_key, ca_cert = ca or create_ca("another federation")
    key, cert = issue_node_certificate(ca_key, ca_cert, agency)
    (tmp_path / "c.crt").write_bytes(cert_to_pem(cert))
    (tmp_path / "c.key").write_bytes(ec_key_to_pem(key))
    return tmp_path / "c.crt", tmp_path / "c.key"


def test_a_certificate_from_another_ca_is_refused(federation: Cluster, tmp_path: Path) -> None:
    police = federation.nodes["police"].config
    cert, key = _foreign_identity(tmp_path, "customs")
    with httpx.Client(
        base_url=police.public_url, verify=_context(cert, key, police.federation_ca), timeout=5
    ) as c:
        with pytest.raises(httpx.TransportError):
            c.post(MATCH_PATH, content=BODY).raise_for_status()


def test_an_agency_not_in_the_manifest_is_refused(federation: Cluster, tmp_path: Path) -> None:
    """A certificate from the right CA for an agency the manifest does not list, with a token
    signed by that agency's own key: refused."""
    police = federation.nodes["police"].config
    ca = (
        load_ec_key_pem(federation.federation.ca_key.read_bytes()),
        load_cert_pem(federation.federation.ca_cert.read_bytes()),
    )
    cert, key = _foreign_identity(tmp_path, "rogue", ca)
    rogue_key = generate_signing_key()
    (tmp_path / "rogue.key").write_bytes(private_key_to_pem(rogue_key))
    bearer = jwt.encode(
        claims(iss="rogue"), rogue_key, algorithm="EdDSA", headers=header_for(rogue_key)
    )
    with httpx.Client(
        base_url=police.public_url, verify=_context(cert, key, police.federation_ca), timeout=5
    ) as c:
        response = c.post(MATCH_PATH, content=BODY, headers={"Authorization": f"Bearer {bearer}"})
    assert (response.status_code, response.json()) == (401, REFUSED)


def test_refusals_are_audited_with_their_cause(
    federation: Cluster, as_customs: httpx.Client
) -> None:
    from sqlalchemy import create_engine, select

    from gateway.audit.store import audit_entries

    post(as_customs, token(federation, claims(aud="intel")))
    engine = create_engine(federation.nodes["police"].config.database_url)
    try:
        with engine.connect() as conn:
            rows = (
                conn.execute(select(audit_entries).where(audit_entries.c.decision == "denied"))
                .mappings()
                .all()
            )
    finally:
        engine.dispose()
    assert any(r["outcome"].get("refused") == "peer token did not verify" for r in rows)
