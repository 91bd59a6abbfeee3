"""Ed25519 signing keys of nodes and of the federation authority: generation, PEM storage
(optionally passphrase-encrypted), the ``ed25519:<base64url>`` text form used in the
federation manifest, and the short key id carried in signatures and JWT headers.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, rsa, x448, x25519
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from crypto.errors import CryptoError

__all__ = [
    "PUBLIC_KEY_TEXT_PREFIX",
    "b64url_decode",
    "b64url_encode",
    "generate_signing_key",
    "key_id",
    "load_private_key",
    "load_public_key_pem",
    "private_key_to_pem",
    "public_key_from_text",
    "public_key_to_pem",
    "public_key_to_text",
]

PUBLIC_KEY_TEXT_PREFIX = "ed25519:"
_ED25519_PUBLIC_KEY_BYTES = 32
_B64URL_ALPHABET = re.compile(r"[A-Za-z0-9_-]*")


def b64url_encode(data: bytes) -> str:
    """Base64url without padding (RFC 4648 section 5, as in JOSE)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strict inverse of :func:`b64url_encode`: refuses padding, characters outside the
    alphabet and non-canonical trailing bits (``binascii`` alone would skip over junk), so
    that one byte string has exactly one accepted text form. Raises ``ValueError``."""
    if not _B64URL_ALPHABET.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not unpadded base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as exc:
        raise ValueError("not unpadded base64url") from exc
    if b64url_encode(data) != text:
        raise ValueError("not canonical base64url")
    return data


def generate_signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def private_key_to_pem(key: Ed25519PrivateKey, passphrase: bytes | None = None) -> bytes:
    """PKCS#8 PEM, encrypted with the best scheme ``cryptography`` offers when a passphrase
    is given."""
    if passphrase is not None and not passphrase:
        raise ValueError("passphrase must not be empty (pass None for an unencrypted key)")
    encryption: serialization.KeySerializationEncryption = (
        serialization.NoEncryption()
        if passphrase is None
        else serialization.BestAvailableEncryption(passphrase)
    )
    return key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=encryption,
    )


def load_private_key(pem: bytes, passphrase: bytes | None = None) -> Ed25519PrivateKey:
    """Load a PEM private key, refusing anything but Ed25519 with a :class:`CryptoError`
    that names the key type found."""
    try:
        key = serialization.load_pem_private_key(pem, password=passphrase)
    except TypeError as exc:
        # cryptography signals a missing or superfluous passphrase with TypeError.
        if passphrase is None:
            raise CryptoError("private key is encrypted: a passphrase is required") from exc
        raise CryptoError("private key is not encrypted: no passphrase expected") from exc
    except ValueError as exc:
        raise CryptoError("cannot load private key: malformed PEM or wrong passphrase") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise CryptoError(f"expected an Ed25519 private key, found {_describe_key(key)}")
    return key


def public_key_to_text(pub: Ed25519PublicKey) -> str:
    """``ed25519:`` followed by the 32 raw public key bytes in unpadded base64url."""
    return PUBLIC_KEY_TEXT_PREFIX + b64url_encode(_raw(pub))


def public_key_from_text(text: str) -> Ed25519PublicKey:
    if not text.startswith(PUBLIC_KEY_TEXT_PREFIX):
        raise CryptoError(f"public key text must start with {PUBLIC_KEY_TEXT_PREFIX!r}")
    try:
        raw = b64url_decode(text[len(PUBLIC_KEY_TEXT_PREFIX) :])
    except ValueError as exc:
        raise CryptoError("public key text is not unpadded base64url") from exc
    if len(raw) != _ED25519_PUBLIC_KEY_BYTES:
        raise CryptoError(
            f"an Ed25519 public key is {_ED25519_PUBLIC_KEY_BYTES} bytes, found {len(raw)}"
        )
    return Ed25519PublicKey.from_public_bytes(raw)


def public_key_to_pem(pub: Ed25519PublicKey) -> bytes:
    return pub.public_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PublicFormat.SubjectPublicKeyInfo,
    )


def load_public_key_pem(pem: bytes) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError as exc:
        raise CryptoError("cannot load public key: malformed PEM") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise CryptoError(f"expected an Ed25519 public key, found {_describe_key(key)}")
    return key


def key_id(pub: Ed25519PublicKey) -> str:
    """First 16 hex characters of SHA-256 over the raw public key: a label for picking and
    logging keys, never a substitute for comparing the key itself."""
    return hashlib.sha256(_raw(pub)).hexdigest()[:16]


def _raw(pub: Ed25519PublicKey) -> bytes:
    return pub.public_bytes(
        encoding=serialization.Encoding.Raw, format=serialization.PublicFormat.Raw
    )


def _describe_key(key: object) -> str:
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return f"RSA-{key.key_size}"
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return f"EC ({key.curve.name})"
    names: list[tuple[tuple[type, ...], str]] = [
        ((ed448.Ed448PrivateKey, ed448.Ed448PublicKey), "Ed448"),
        ((x25519.X25519PrivateKey, x25519.X25519PublicKey), "X25519"),
        ((x448.X448PrivateKey, x448.X448PublicKey), "X448"),
    ]
    for types, name in names:
        if isinstance(key, types):
            return name
    return type(key).__name__  # DSA, DH: named by class to avoid their deprecation warnings
