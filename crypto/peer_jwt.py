"""The short-lived token on every peer request: an EdDSA (Ed25519) JWT, explicitly typed
``cordon-peer+jwt`` (RFC 8725 section 3.11), binding issuer, audience, purpose, case
reference, requesting user and the SHA-256 of the request body.

Verification is fail-closed and opaque: every refusal is ``InvalidPeerToken("peer token
refused")``, with the reason chained only for local debug logs. Replay protection (the jti
cache) belongs to the node's database; :func:`verify_peer_token` returns the claims so the
caller can record the jti until ``expires_at``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from crypto.errors import InvalidPeerToken
from crypto.keys import key_id

__all__ = [
    "MAX_TTL",
    "PEER_TOKEN_TYPE",
    "PeerClaims",
    "issue_peer_token",
    "verify_peer_token",
]

PEER_TOKEN_TYPE = "cordon-peer+jwt"  # noqa: S105 (a media type, not a secret)
MAX_TTL = 120

_ALGORITHM = "EdDSA"
_REFUSED = "peer token refused"
_MAX_TOKEN_CHARS = 8192
_STRING_CLAIMS = ("iss", "aud", "jti", "purpose", "case_ref", "sub", "body_sha256")
_TIME_CLAIMS = ("iat", "exp")
_CLAIMS = frozenset(_STRING_CLAIMS + _TIME_CLAIMS)
_HEADER_KEYS = frozenset({"alg", "typ", "kid"})
# RFC 7515 section 4.1.9: "typ" is compared case-insensitively, "application/" optional.
_ACCEPTED_TYPES = frozenset({PEER_TOKEN_TYPE, "application/" + PEER_TOKEN_TYPE})


@dataclass(frozen=True, slots=True)
class PeerClaims:
    """The verified claims of one peer request."""

    issuer: str
    audience: str
    issued_at: int
    expires_at: int
    jti: str
    purpose: str
    case_reference: str
    user: str
    body_sha256: str


def issue_peer_token(
    key: Ed25519PrivateKey,
    *,
    issuer: str,
    audience: str,
    purpose: str,
    case_reference: str,
    user: str,
    body: bytes,
    now: int,
    ttl: int = 60,
    jti: str | None = None,
) -> str:
    """Sign a token for one request whose body is exactly ``body``, valid ``ttl`` seconds
    (1 to 120) from ``now`` (Unix seconds). ``jti`` defaults to 128 random bits."""
    if not 1 <= ttl <= MAX_TTL:
        raise ValueError(f"ttl must be between 1 and {MAX_TTL} seconds")
    if type(now) is not int:
        raise TypeError("now must be an int (Unix seconds)")
    if jti is None:
        jti = secrets.token_urlsafe(16)
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "iat": now,
        "exp": now + ttl,
        "jti": jti,
        "purpose": purpose,
        "case_ref": case_reference,
        "sub": user,
        "body_sha256": hashlib.sha256(body).hexdigest(),
    }
    for name in _STRING_CLAIMS:
        if not isinstance(claims[name], str) or not claims[name]:
            raise ValueError(f"claim {name!r} must be a non-empty string")
    return jwt.encode(
        claims,
        key,
        algorithm=_ALGORITHM,
        headers={"typ": PEER_TOKEN_TYPE, "kid": key_id(key.public_key())},
    )


def verify_peer_token(
    token: str,
    *,
    key_for_issuer: Callable[[str], Ed25519PublicKey | None],
    audience: str,
    body: bytes,
    now: int,
    leeway: int = 5,
    max_lifetime: int = MAX_TTL,
) -> PeerClaims:
    """Verify a peer token against the issuer's key, this node's ``audience``, the request
    ``body`` and the clock ``now`` (Unix seconds); raise :class:`InvalidPeerToken` otherwise.

    The token is refused when: it is not an EdDSA JWS signed by the key ``key_for_issuer``
    returns for its ``iss`` (``None``: unknown issuer); its header is not exactly alg, typ
    ``cordon-peer+jwt`` and the key's kid; a claim is missing, extra, empty or mistyped;
    ``aud`` is not exactly ``audience``; ``iat`` is more than ``leeway`` seconds ahead of
    ``now``; ``now`` is ``leeway`` seconds or more past ``exp``; ``exp - iat`` is not in
    1..``max_lifetime``; or ``body_sha256`` is not the SHA-256 of ``body``.

    pyjwt checks exp/iat against its own wall clock and has no clock parameter, so those
    checks are switched off there and done here against the injected ``now``.
    """
    if leeway < 0 or not 1 <= max_lifetime <= MAX_TTL:
        raise ValueError(f"need leeway >= 0 and max_lifetime in 1..{MAX_TTL}")
    try:
        payload = _verified_payload(
            token, key_for_issuer, audience, body, now, leeway, max_lifetime
        )
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise InvalidPeerToken(_REFUSED) from exc
    return PeerClaims(
        issuer=payload["iss"],
        audience=payload["aud"],
        issued_at=payload["iat"],
        expires_at=payload["exp"],
        jti=payload["jti"],
        purpose=payload["purpose"],
        case_reference=payload["case_ref"],
        user=payload["sub"],
        body_sha256=payload["body_sha256"],
    )


def _verified_payload(
    token: str,
    key_for_issuer: Callable[[str], Ed25519PublicKey | None],
    audience: str,
    body: bytes,
    now: int,
    leeway: int,
    max_lifetime: int,
) -> dict[str, Any]:
    if not isinstance(token, str) or len(token) > _MAX_TOKEN_CHARS:
        raise ValueError("token is not a string of sane length")

    # The unverified issuer is used for one thing only: choosing the key to verify with.
    unverified = jwt.decode(token, options={"verify_signature": False})
    issuer = unverified.get("iss")
    if not isinstance(issuer, str) or not issuer:
        raise ValueError("token names no issuer")
    public_key = key_for_issuer(issuer)
    if public_key is None:
        raise ValueError("unknown issuer")
    if not isinstance(public_key, Ed25519PublicKey):
        raise TypeError("key_for_issuer must return an Ed25519 public key")

    decoded = jwt.decode_complete(
        token,
        key=public_key,
        algorithms=[_ALGORITHM],
        audience=audience,
        issuer=issuer,
        leeway=leeway,
        options={
            "require": sorted(_CLAIMS),
            "strict_aud": True,
            "verify_exp": False,
            "verify_iat": False,
            "verify_nbf": False,
        },
    )
    header: dict[str, Any] = decoded["header"]
    payload: dict[str, Any] = decoded["payload"]

    if header.keys() != _HEADER_KEYS or header["alg"] != _ALGORITHM:
        raise ValueError("unexpected JOSE header")
    typ = header["typ"]
    if not isinstance(typ, str) or typ.lower() not in _ACCEPTED_TYPES:
        raise ValueError("wrong token type")
    if header["kid"] != key_id(public_key):
        raise ValueError("kid does not name the issuer's key")

    if payload.keys() != _CLAIMS:
        raise ValueError("claims missing or unexpected")
    for name in _STRING_CLAIMS:
        if not isinstance(payload[name], str) or not payload[name]:
            raise ValueError(f"claim {name} must be a non-empty string")
    issued_at, expires_at = payload["iat"], payload["exp"]
    # type() rather than isinstance(): bool is an int subclass, and floats are not allowed.
    if type(issued_at) is not int or type(expires_at) is not int:
        raise ValueError("iat and exp must be integers")
    # pyjwt checks these too (strict_aud, pyjwt >= 2.8); repeated so that the exact-match
    # rule is visible here and does not rest on how pyjwt reads its options dict.
    if payload["aud"] != audience or payload["iss"] != issuer:
        raise ValueError("audience or issuer mismatch")

    if issued_at > now + leeway:
        raise ValueError("issued in the future")
    if now >= expires_at + leeway:
        raise ValueError("expired")
    if not 0 < expires_at - issued_at <= max_lifetime:
        raise ValueError("lifetime out of range")

    # Lowercase hex only, as issued; bytes because compare_digest refuses non-ASCII str.
    claimed = payload["body_sha256"].encode("utf-8")
    if not hmac.compare_digest(claimed, hashlib.sha256(body).hexdigest().encode("ascii")):
        raise ValueError("body does not match body_sha256")
    return payload
