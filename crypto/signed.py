"""Signed JSON documents (the federation manifest, every peer answer) and signed byte
strings (an HTTP answer body exactly as sent), both Ed25519 over domain-separated input::

    b"cordon-signed-v1\\x00" + context + b"\\x00" + data

where ``data`` is :func:`canonical_json` of the payload, or the raw bytes. The context
("manifest", "match-answer", ...) is part of what is signed, so a signature made for one
purpose never verifies for another, even if the document's own ``context`` field is edited.
"""

from __future__ import annotations

import json
import re
from typing import Any

from cryptography.exceptions import InvalidSignature as _PrimitiveInvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from crypto.errors import InvalidSignature
from crypto.keys import b64url_decode, b64url_encode, key_id

__all__ = [
    "MAX_SAFE_INTEGER",
    "SIGNATURE_ALG",
    "canonical_json",
    "sign_bytes",
    "sign_document",
    "verify_bytes",
    "verify_document",
]

SIGNATURE_ALG = "EdDSA"
#: I-JSON (RFC 7493) integers: exactly representable as IEEE 754 doubles, so every JCS
#: implementation serialises them the same way.
MAX_SAFE_INTEGER = 2**53 - 1

_DOMAIN = b"cordon-signed-v1\x00"
_CONTEXT = re.compile(r"[a-z][a-z0-9.:-]{0,63}")
_ED25519_SIGNATURE_BYTES = 64
_MAX_DEPTH = 64
_REFUSED = "signature verification failed"
_DOCUMENT_KEYS = frozenset({"payload", "signature"})
_SIGNATURE_KEYS = frozenset({"alg", "key_id", "context", "value"})


def canonical_json(obj: object) -> bytes:
    """Deterministic UTF-8 JSON: the integer subset of RFC 8785 (JCS).

    Members are sorted by UTF-16 code units (as JCS requires: this differs from Python's
    code-point ``sort_keys`` for characters above U+FFFF), there is no insignificant
    whitespace, non-ASCII is written as UTF-8, and strings are escaped as ECMAScript's
    ``JSON.stringify`` does. Only dict (str keys), list, str, int, bool and None are
    accepted: floats raise ``TypeError`` (signed documents carry no floats, which sidesteps
    JCS number formatting), integers beyond +/-(2**53 - 1) and strings with lone surrogates
    raise ``ValueError``.
    """
    text = json.dumps(
        _normalise(obj, 0), ensure_ascii=False, separators=(",", ":"), allow_nan=False
    )
    return text.encode("utf-8")


def sign_document(
    payload: dict[str, Any], key: Ed25519PrivateKey, *, context: str
) -> dict[str, Any]:
    """Sign ``payload`` for ``context``. The returned document holds a plain-JSON copy of
    the payload exactly as signed (later changes to ``payload`` do not leak into it)."""
    if not isinstance(payload, dict):
        raise TypeError("a signed document's payload must be a JSON object")
    body = canonical_json(payload)
    return {
        "payload": json.loads(body),
        "signature": {
            "alg": SIGNATURE_ALG,
            "key_id": key_id(key.public_key()),
            "context": context,
            "value": b64url_encode(key.sign(_signing_input(context, body))),
        },
    }


def verify_document(doc: object, public_key: Ed25519PublicKey, *, context: str) -> dict[str, Any]:
    """Return the payload of ``doc`` if it carries a valid signature by ``public_key`` made
    for ``context``; otherwise raise :class:`InvalidSignature` with one message whatever
    failed (malformed, wrong context, wrong key, altered payload)."""
    _check_context(context)
    try:
        if not isinstance(doc, dict) or doc.keys() != _DOCUMENT_KEYS:
            raise ValueError("document must have exactly 'payload' and 'signature'")
        payload, signature = doc["payload"], doc["signature"]
        if not isinstance(payload, dict):
            raise ValueError("payload must be a JSON object")
        if not isinstance(signature, dict) or signature.keys() != _SIGNATURE_KEYS:
            raise ValueError("signature must have exactly alg, key_id, context, value")
        if signature["alg"] != SIGNATURE_ALG:
            raise ValueError("unexpected signature algorithm")
        if signature["context"] != context:
            raise ValueError("signature made for another context")
        if signature["key_id"] != key_id(public_key):
            raise ValueError("signature names another key")
        _verify(canonical_json(payload), signature["value"], public_key, context)
    except (ValueError, TypeError, RecursionError, _PrimitiveInvalidSignature) as exc:
        raise InvalidSignature(_REFUSED) from exc
    return payload


def sign_bytes(data: bytes, key: Ed25519PrivateKey, *, context: str) -> str:
    """Signature (unpadded base64url) over raw bytes, e.g. an HTTP answer body as sent."""
    return b64url_encode(key.sign(_signing_input(context, data)))


def verify_bytes(
    data: bytes, signature: str, public_key: Ed25519PublicKey, *, context: str
) -> None:
    """Raise :class:`InvalidSignature` unless ``signature`` is ``public_key``'s signature
    over ``data`` for ``context``."""
    _check_context(context)
    try:
        _verify(data, signature, public_key, context)
    except (ValueError, TypeError, _PrimitiveInvalidSignature) as exc:
        raise InvalidSignature(_REFUSED) from exc


def _verify(data: bytes, signature: object, public_key: Ed25519PublicKey, context: str) -> None:
    if not isinstance(signature, str):
        raise TypeError("signature value must be a string")
    raw = b64url_decode(signature)
    if len(raw) != _ED25519_SIGNATURE_BYTES:
        raise ValueError("an Ed25519 signature is 64 bytes")
    public_key.verify(raw, _signing_input(context, data))


def _signing_input(context: str, data: bytes) -> bytes:
    _check_context(context)
    return _DOMAIN + context.encode("ascii") + b"\x00" + data


def _check_context(context: str) -> None:
    # A caller error, not a verification failure: raised before any verification starts.
    if not _CONTEXT.fullmatch(context):
        raise ValueError(f"signature context must match {_CONTEXT.pattern} (got {context!r})")


def _normalise(obj: object, depth: int) -> object:
    """Validate ``obj`` and rebuild its dicts in JCS member order (``json.dumps`` keeps
    insertion order when ``sort_keys`` is off)."""
    if depth > _MAX_DEPTH:
        raise ValueError(f"JSON nested deeper than {_MAX_DEPTH} levels")
    if obj is None or isinstance(obj, bool):
        return obj
    if isinstance(obj, int):
        if not -MAX_SAFE_INTEGER <= obj <= MAX_SAFE_INTEGER:
            raise ValueError("integer outside the I-JSON range +/-(2**53 - 1)")
        return obj
    if isinstance(obj, str):
        obj.encode("utf-8")  # raises UnicodeEncodeError (a ValueError) on lone surrogates
        return obj
    if isinstance(obj, float):
        raise TypeError("signed documents carry no floats")
    if isinstance(obj, list):
        return [_normalise(item, depth + 1) for item in obj]
    if isinstance(obj, dict):
        for name in obj:
            if not isinstance(name, str):
                raise TypeError(f"JSON object keys must be str, not {type(name).__name__}")
        return {name: _normalise(obj[name], depth + 1) for name in sorted(obj, key=_utf16)}
    raise TypeError(f"{type(obj).__name__} is not allowed in a signed document")


def _utf16(name: str) -> bytes:
    # Big-endian UTF-16 bytes compare exactly as the sequence of UTF-16 code units.
    return name.encode("utf-16-be")
