from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from crypto.errors import CryptoError
from crypto.keys import (
    b64url_decode,
    b64url_encode,
    generate_signing_key,
    key_id,
    load_private_key,
    load_public_key_pem,
    private_key_to_pem,
    public_key_from_text,
    public_key_to_pem,
    public_key_to_text,
)

# RFC 8032 section 7.1, TEST 1.
RFC8032_SECRET = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
RFC8032_PUBLIC = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")


def _raw(pub: Ed25519PublicKey) -> bytes:
    return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _pkcs8(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed448.Ed448PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def test_private_key_pem_round_trip_keeps_the_key() -> None:
    key = generate_signing_key()
    loaded = load_private_key(private_key_to_pem(key))
    assert _raw(loaded.public_key()) == _raw(key.public_key())
    assert private_key_to_pem(key).startswith(b"-----BEGIN PRIVATE KEY-----")


def test_encrypted_private_key_round_trips_with_its_passphrase() -> None:
    key = generate_signing_key()
    pem = private_key_to_pem(key, passphrase=b"correct horse")
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    loaded = load_private_key(pem, passphrase=b"correct horse")
    assert _raw(loaded.public_key()) == _raw(key.public_key())


def test_encrypted_private_key_refuses_wrong_passphrase() -> None:
    pem = private_key_to_pem(generate_signing_key(), passphrase=b"correct horse")
    with pytest.raises(CryptoError, match="wrong passphrase"):
        load_private_key(pem, passphrase=b"battery staple")


def test_encrypted_private_key_without_passphrase_says_one_is_required() -> None:
    pem = private_key_to_pem(generate_signing_key(), passphrase=b"correct horse")
    with pytest.raises(CryptoError, match="passphrase is required"):
        load_private_key(pem)


def test_plain_private_key_with_passphrase_is_refused() -> None:
    pem = private_key_to_pem(generate_signing_key())
    with pytest.raises(CryptoError, match="not encrypted"):
        load_private_key(pem, passphrase=b"unexpected")


def test_empty_passphrase_is_refused() -> None:
    with pytest.raises(ValueError, match="must not be empty"):
        private_key_to_pem(generate_signing_key(), passphrase=b"")


@pytest.mark.parametrize(
    ("other_key", "named"),
    [
        (rsa.generate_private_key(public_exponent=65537, key_size=2048), "RSA-2048"),
        (ec.generate_private_key(ec.SECP256R1()), r"EC \(secp256r1\)"),
        (ed448.Ed448PrivateKey.generate(), "Ed448"),
    ],
    ids=["rsa", "ec", "ed448"],
)
def test_non_ed25519_private_key_is_refused_naming_its_type(
    other_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed448.Ed448PrivateKey,
    named: str,
) -> None:
    with pytest.raises(CryptoError, match=f"expected an Ed25519 private key, found {named}"):
        load_private_key(_pkcs8(other_key))


def test_malformed_private_key_pem_is_refused() -> None:
    with pytest.raises(CryptoError, match="malformed PEM"):
        load_private_key(b"-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")


def test_public_key_pem_round_trip() -> None:
    pub = generate_signing_key().public_key()
    assert _raw(load_public_key_pem(public_key_to_pem(pub))) == _raw(pub)


def test_non_ed25519_public_key_pem_is_refused() -> None:
    pem = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(CryptoError, match="found EC"):
        load_public_key_pem(pem)


def test_public_key_text_form_of_the_rfc8032_key() -> None:
    pub = Ed25519PrivateKey.from_private_bytes(RFC8032_SECRET).public_key()
    assert _raw(pub) == RFC8032_PUBLIC
    assert public_key_to_text(pub) == "ed25519:11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"


def test_public_key_text_round_trip() -> None:
    pub = generate_signing_key().public_key()
    assert _raw(public_key_from_text(public_key_to_text(pub))) == _raw(pub)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "must start with 'ed25519:'"),
        ("ed448:11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "must start with 'ed25519:'"),
        ("ED25519:11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "must start with 'ed25519:'"),
        ("ed25519:11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo=", "not unpadded base64url"),
        ("ed25519:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo", "not unpadded base64url"),
        ("ed25519:11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURp", "not unpadded base64url"),
        ("ed25519:" + b64url_encode(RFC8032_PUBLIC[:31]), "32 bytes, found 31"),
        ("ed25519:" + b64url_encode(RFC8032_PUBLIC + b"\x00"), "32 bytes, found 33"),
        ("ed25519:", "32 bytes, found 0"),
    ],
    ids=[
        "no-prefix",
        "other-prefix",
        "upper-prefix",
        "padded",
        "std-alphabet",
        "non-canonical-bits",
        "short",
        "long",
        "empty",
    ],
)
def test_bad_public_key_text_is_refused_with_the_reason(text: str, reason: str) -> None:
    with pytest.raises(CryptoError) as caught:
        public_key_from_text(text)
    assert reason in str(caught.value)


def test_key_id_is_first_16_hex_of_sha256_of_raw_key() -> None:
    pub = Ed25519PublicKey.from_public_bytes(RFC8032_PUBLIC)
    assert key_id(pub) == hashlib.sha256(RFC8032_PUBLIC).hexdigest()[:16]
    assert len(key_id(pub)) == 16


def test_different_keys_have_different_key_ids() -> None:
    assert key_id(generate_signing_key().public_key()) != key_id(
        generate_signing_key().public_key()
    )


@pytest.mark.parametrize("data", [b"", b"f", b"fo", b"foo", b"\xff\xfe\xfd\xfc"])
def test_b64url_round_trip_has_no_padding(data: bytes) -> None:
    text = b64url_encode(data)
    assert "=" not in text
    assert b64url_decode(text) == data


@pytest.mark.parametrize("text", ["Zg==", "Z", "Zh", "Zm9v!", "Zm 9v", "+/8"])
def test_b64url_decode_is_strict(text: str) -> None:
    with pytest.raises(ValueError):
        b64url_decode(text)
