from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from crypto.errors import InvalidPeerToken
from crypto.keys import b64url_decode, b64url_encode, key_id, public_key_to_text
from crypto.peer_jwt import PeerClaims, issue_peer_token, verify_peer_token

REFUSED = "peer token refused"
NOW = 1_900_000_000
ISSUER = "police-nl"
AUDIENCE = "customs-be"
BODY = b'{"tokens":["9f86d081884c7d65"],"type":"passport"}'
ALL_CLAIMS = ("iss", "aud", "iat", "exp", "jti", "purpose", "case_ref", "sub", "body_sha256")
STRING_CLAIMS = ("iss", "aud", "jti", "purpose", "case_ref", "sub", "body_sha256")

KEY = Ed25519PrivateKey.generate()
OTHER_KEY = Ed25519PrivateKey.generate()
MEMBERS: dict[str, Ed25519PublicKey] = {
    ISSUER: KEY.public_key(),
    "fiu-lu": OTHER_KEY.public_key(),
}


def _issue(**overrides: Any) -> str:
    key = overrides.pop("key", KEY)
    arguments: dict[str, Any] = {
        "issuer": ISSUER,
        "audience": AUDIENCE,
        "purpose": "serious-crime",
        "case_reference": "NL-2030-0042",
        "user": "inspector.jansen",
        "body": BODY,
        "now": NOW,
        "jti": "jti-0001",
    }
    arguments.update(overrides)
    return issue_peer_token(key, **arguments)


def _verify(token: str, **overrides: Any) -> PeerClaims:
    arguments: dict[str, Any] = {
        "key_for_issuer": MEMBERS.get,
        "audience": AUDIENCE,
        "body": BODY,
        "now": NOW,
    }
    arguments.update(overrides)
    return verify_peer_token(token, **arguments)


def _claims(**overrides: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": NOW,
        "exp": NOW + 60,
        "jti": "jti-0001",
        "purpose": "serious-crime",
        "case_ref": "NL-2030-0042",
        "sub": "inspector.jansen",
        "body_sha256": hashlib.sha256(BODY).hexdigest(),
    }
    claims.update(overrides)
    return claims


def _header(**overrides: Any) -> dict[str, Any]:
    header: dict[str, Any] = {
        "alg": "EdDSA",
        "typ": "cordon-peer+jwt",
        "kid": key_id(KEY.public_key()),
    }
    header.update(overrides)
    return header


def _segment(obj: object) -> str:
    return b64url_encode(json.dumps(obj, separators=(",", ":")).encode())


def _forge(header: dict[str, Any], claims: dict[str, Any], sign: Callable[[bytes], bytes]) -> str:
    """Build a compact JWS by hand, so that nothing in pyjwt's encoder can tidy it up."""
    signing_input = f"{_segment(header)}.{_segment(claims)}"
    return f"{signing_input}.{b64url_encode(sign(signing_input.encode('ascii')))}"


def _ed25519(message: bytes) -> bytes:
    return KEY.sign(message)


def _hs256(secret: bytes) -> Callable[[bytes], bytes]:
    return lambda message: hmac.new(secret, message, hashlib.sha256).digest()


def _refused(token: str, **overrides: Any) -> InvalidPeerToken:
    with pytest.raises(InvalidPeerToken) as caught:
        _verify(token, **overrides)
    assert caught.value.args == (REFUSED,)
    return caught.value


# --- happy path ---------------------------------------------------------------------------


def test_valid_token_yields_exactly_its_claims() -> None:
    assert _verify(_issue(ttl=90)) == PeerClaims(
        issuer=ISSUER,
        audience=AUDIENCE,
        issued_at=NOW,
        expires_at=NOW + 90,
        jti="jti-0001",
        purpose="serious-crime",
        case_reference="NL-2030-0042",
        user="inspector.jansen",
        body_sha256=hashlib.sha256(BODY).hexdigest(),
    )


def test_token_header_is_eddsa_typed_and_names_the_key() -> None:
    assert jwt.get_unverified_header(_issue()) == _header()


def test_hand_built_token_verifies_so_the_forgeries_below_test_the_verifier() -> None:
    assert _verify(_forge(_header(), _claims(), _ed25519)).jti == "jti-0001"


def test_default_jti_is_128_random_bits() -> None:
    first = _verify(_issue(jti=None)).jti
    second = _verify(_issue(jti=None)).jti
    assert len(b64url_decode(first)) == 16
    assert first != second


@pytest.mark.parametrize("typ", ["CORDON-PEER+JWT", "application/cordon-peer+jwt"])
def test_typ_is_compared_as_a_media_type(typ: str) -> None:
    _verify(_forge(_header(typ=typ), _claims(), _ed25519))


def test_token_within_leeway_of_expiry_is_accepted() -> None:
    token = _issue(ttl=60)
    assert _verify(token, now=NOW + 60 + 4, leeway=5).expires_at == NOW + 60


def test_token_issued_just_within_leeway_in_the_future_is_accepted() -> None:
    assert _verify(_issue(now=NOW + 5), leeway=5).issued_at == NOW + 5


def test_lifetime_of_exactly_the_maximum_is_accepted() -> None:
    assert _verify(_issue(ttl=120)).expires_at == NOW + 120


# --- issuing -------------------------------------------------------------------------------


@pytest.mark.parametrize("ttl", [0, -1, 121, 3600])
def test_issuing_refuses_ttl_outside_1_to_120(ttl: int) -> None:
    with pytest.raises(ValueError, match="ttl"):
        _issue(ttl=ttl)


@pytest.mark.parametrize("field", ["issuer", "audience", "purpose", "case_reference", "user"])
def test_issuing_refuses_empty_claims(field: str) -> None:
    with pytest.raises(ValueError, match="non-empty"):
        _issue(**{field: ""})


# --- refusals ------------------------------------------------------------------------------


def test_alg_none_is_refused() -> None:
    _refused(_forge(_header(alg="none"), _claims(), lambda _: b""))


@pytest.mark.parametrize(
    "secret",
    [
        KEY.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw),
        KEY.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        public_key_to_text(KEY.public_key()).encode(),
    ],
    ids=["raw", "pem", "text"],
)
def test_hs256_keyed_with_the_public_key_is_refused(secret: bytes) -> None:
    _refused(_forge(_header(alg="HS256"), _claims(), _hs256(secret)))


@pytest.mark.parametrize(
    ("alg", "signing_key"),
    [
        ("RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        ("ES256", ec.generate_private_key(ec.SECP256R1())),
    ],
)
def test_rsa_and_ecdsa_tokens_are_refused(
    alg: str, signing_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
) -> None:
    token = jwt.encode(_claims(), signing_key, algorithm=alg, headers=_header(alg=alg))
    _refused(token)


def test_expired_token_is_refused() -> None:
    _refused(_issue(now=NOW - 200, ttl=60))


def test_token_expiring_exactly_at_the_edge_of_leeway_is_refused() -> None:
    _refused(_issue(ttl=60), now=NOW + 60 + 5, leeway=5)


def test_expiry_is_judged_by_the_injected_clock_not_the_wall_clock() -> None:
    # Issued and checked in 2030: pyjwt's own clock (today) would call it not yet valid.
    assert _verify(_issue()).issued_at == NOW
    _refused(_issue(now=NOW - 3600))


def test_token_issued_in_the_future_is_refused() -> None:
    _refused(_issue(now=NOW + 6), leeway=5)


@pytest.mark.parametrize(
    ("iat", "exp"),
    [(NOW, NOW + 121), (NOW - 3000, NOW + 60), (NOW, NOW), (NOW + 1, NOW)],
    ids=["121s", "long-ago-iat", "zero", "negative"],
)
def test_lifetime_outside_1_to_120_seconds_is_refused(iat: int, exp: int) -> None:
    _refused(_forge(_header(), _claims(iat=iat, exp=exp), _ed25519))


def test_lifetime_beyond_the_callers_maximum_is_refused() -> None:
    _refused(_issue(ttl=60), max_lifetime=30)


def test_token_for_another_audience_is_refused() -> None:
    _refused(_issue(), audience="fiu-lu")


def test_audience_list_is_refused_even_when_it_contains_us() -> None:
    _refused(_forge(_header(), _claims(aud=[AUDIENCE, "fiu-lu"]), _ed25519))


@pytest.mark.parametrize("claim", ALL_CLAIMS)
def test_token_missing_a_claim_is_refused(claim: str) -> None:
    claims = _claims()
    del claims[claim]
    _refused(_forge(_header(), claims, _ed25519))


@pytest.mark.parametrize("claim", STRING_CLAIMS)
def test_token_with_an_empty_string_claim_is_refused(claim: str) -> None:
    _refused(_forge(_header(), _claims(**{claim: ""}), _ed25519))


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("iat", str(NOW)),
        ("iat", float(NOW)),
        ("exp", True),
        ("exp", None),
        ("purpose", 42),
        ("sub", ["inspector.jansen"]),
        ("jti", {"id": 1}),
        ("case_ref", None),
    ],
)
def test_token_with_a_mistyped_claim_is_refused(claim: str, value: object) -> None:
    _refused(_forge(_header(), _claims(**{claim: value}), _ed25519))


def test_token_with_an_unexpected_claim_is_refused() -> None:
    _refused(_forge(_header(), _claims(nbf=NOW), _ed25519))


def test_body_altered_after_signing_is_refused() -> None:
    _refused(_issue(), body=BODY.replace(b"passport", b"idcard"))


def test_body_hash_in_another_spelling_is_refused() -> None:
    upper = hashlib.sha256(BODY).hexdigest().upper()
    _refused(_forge(_header(), _claims(body_sha256=upper), _ed25519))


def test_unknown_issuer_is_refused() -> None:
    _refused(_issue(), key_for_issuer=lambda issuer: None)


def test_token_signed_by_another_key_is_refused() -> None:
    _refused(_issue(key=OTHER_KEY))


def test_token_signed_by_another_member_claiming_to_be_us_is_refused() -> None:
    # fiu-lu's key signs a token whose iss says police-nl, with police-nl's kid.
    _refused(_forge(_header(), _claims(), OTHER_KEY.sign))


def test_claims_edited_after_signing_are_refused() -> None:
    header, _, signature = _issue().split(".")
    edited = _segment(_claims(purpose="fishing-expedition"))
    _refused(f"{header}.{edited}.{signature}")


@pytest.mark.parametrize("typ", ["JWT", "at+jwt", "cordon-peer", "", None])
def test_wrong_typ_header_is_refused(typ: str | None) -> None:
    _refused(_forge(_header(typ=typ), _claims(), _ed25519))


def test_missing_typ_header_is_refused() -> None:
    header = _header()
    del header["typ"]
    _refused(_forge(header, _claims(), _ed25519))


def test_kid_of_another_key_is_refused() -> None:
    _refused(_forge(_header(kid=key_id(OTHER_KEY.public_key())), _claims(), _ed25519))


def test_unexpected_header_parameter_is_refused() -> None:
    _refused(_forge(_header(jku="https://attacker.example/keys"), _claims(), _ed25519))


@pytest.mark.parametrize(
    "token", ["", "not-a-jwt", "a.b", "a.b.c", "..", "x" * 10_000], ids=lambda t: t[:12]
)
def test_garbage_is_refused(token: str) -> None:
    _refused(token)


def test_refusal_chains_its_cause_for_local_logs() -> None:
    refusal = _refused(_issue(), audience="fiu-lu")
    assert refusal.__cause__ is not None


def test_every_refusal_has_the_same_message() -> None:
    attempts: list[tuple[str, dict[str, Any]]] = [
        (_forge(_header(alg="none"), _claims(), lambda _: b""), {}),
        (_issue(now=NOW - 200), {}),
        (_issue(), {"audience": "fiu-lu"}),
        (_issue(), {"body": b"other"}),
        (_issue(), {"key_for_issuer": lambda issuer: None}),
        (_issue(key=OTHER_KEY), {}),
        (_forge(_header(typ="JWT"), _claims(), _ed25519), {}),
        ("garbage", {}),
    ]
    messages = set()
    for token, overrides in attempts:
        with pytest.raises(InvalidPeerToken) as caught:
            _verify(token, **overrides)
        messages.add(str(caught.value))
    assert messages == {REFUSED}


@pytest.mark.parametrize("overrides", [{"leeway": -1}, {"max_lifetime": 0}, {"max_lifetime": 121}])
def test_unreasonable_verifier_settings_are_a_caller_error(overrides: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        _verify(_issue(), **overrides)
