"""Signed checkpoints: text form, signatures, cosignatures and rejection of tampering."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from dataclasses import replace

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from crypto.checkpoint import (
    CHECKPOINT_CONTEXT,
    COSIGNATURE_CONTEXT,
    Checkpoint,
    CheckpointError,
    Cosignature,
    InvalidCheckpoint,
    SignedCheckpoint,
    add_cosignature,
    key_id,
    sign_checkpoint,
    verify_checkpoint,
    verify_cosignature,
)
from crypto.errors import CryptoError
from crypto.merkle import EMPTY_ROOT

# RFC 8032 section 7.1 TEST 1 secret key; its public key is d75a9801...
LOG_KEY = Ed25519PrivateKey.from_private_bytes(
    bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
)
WITNESS_KEY = Ed25519PrivateKey.generate()
OTHER_KEY = Ed25519PrivateKey.generate()
ORIGIN = "police.example/audit"
# Root of the 8-leaf RFC 6962 reference tree, base64 as published in transparency-dev/merkle
# testdata/consistency/1/happy-path.json.
ROOT_8_B64 = "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg="
CHECKPOINT = Checkpoint(ORIGIN, 8, base64.b64decode(ROOT_8_B64), 1_700_000_000)


def _signed() -> SignedCheckpoint:
    return sign_checkpoint(CHECKPOINT, LOG_KEY)


def _blob(kid: str, signature: bytes) -> str:
    return base64.b64encode(bytes.fromhex(kid) + signature).decode()


def test_body_is_origin_size_base64_root_and_timestamp_lines() -> None:
    assert CHECKPOINT.body() == f"{ORIGIN}\n8\n{ROOT_8_B64}\n1700000000\n".encode()


def test_key_id_is_first_four_bytes_of_sha256_of_raw_public_key() -> None:
    raw = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
    assert key_id(LOG_KEY.public_key()) == hashlib.sha256(raw).hexdigest()[:8]


def test_to_text_is_body_blank_line_and_em_dash_signature_line() -> None:
    signed = _signed()
    expected = (
        f"{ORIGIN}\n8\n{ROOT_8_B64}\n1700000000\n\n"
        f"\u2014 {ORIGIN} {_blob(signed.key_id, signed.signature)}\n"
    )
    assert signed.to_text() == expected


def test_log_signature_covers_context_and_body() -> None:
    signed = _signed()
    LOG_KEY.public_key().verify(signed.signature, CHECKPOINT_CONTEXT + CHECKPOINT.body())


def test_text_round_trip_preserves_checkpoint_and_signature() -> None:
    signed = _signed()
    assert SignedCheckpoint.from_text(signed.to_text()) == signed


def test_verify_checkpoint_returns_checkpoint_for_parsed_and_text_forms() -> None:
    signed = _signed()
    assert verify_checkpoint(signed, LOG_KEY.public_key()) == CHECKPOINT
    assert verify_checkpoint(signed.to_text(), LOG_KEY.public_key(), origin=ORIGIN) == CHECKPOINT


def test_empty_log_checkpoint_round_trips() -> None:
    signed = sign_checkpoint(Checkpoint(ORIGIN, 0, EMPTY_ROOT, 5), LOG_KEY)
    assert verify_checkpoint(signed.to_text(), LOG_KEY.public_key()).size == 0


def test_forged_signature_is_rejected() -> None:
    signed = _signed()
    forged = replace(signed, signature=bytes([signed.signature[0] ^ 1]) + signed.signature[1:])
    with pytest.raises(InvalidCheckpoint):
        verify_checkpoint(forged, LOG_KEY.public_key())


def test_wrong_key_is_rejected() -> None:
    with pytest.raises(InvalidCheckpoint):
        verify_checkpoint(_signed(), OTHER_KEY.public_key())


def test_valid_signature_under_a_mislabelled_key_id_is_rejected() -> None:
    mislabelled = replace(_signed(), key_id=key_id(OTHER_KEY.public_key()))
    with pytest.raises(InvalidCheckpoint):
        verify_checkpoint(mislabelled, LOG_KEY.public_key())


def test_unexpected_origin_is_rejected() -> None:
    with pytest.raises(InvalidCheckpoint):
        verify_checkpoint(_signed(), LOG_KEY.public_key(), origin="customs.example/audit")


@pytest.mark.parametrize(
    ("old", "new"),
    [
        pytest.param("\n8\n", "\n9\n", id="size"),
        pytest.param("1700000000\n", "1700000001\n", id="timestamp"),
        pytest.param(ROOT_8_B64, base64.b64encode(bytes(32)).decode(), id="root"),
    ],
)
def test_modified_body_is_rejected(old: str, new: str) -> None:
    text = _signed().to_text()
    assert old in text
    with pytest.raises(InvalidCheckpoint):
        verify_checkpoint(text.replace(old, new, 1), LOG_KEY.public_key())


def test_renamed_origin_is_rejected() -> None:
    text = _signed().to_text().replace(ORIGIN, "customs.example/audit")
    with pytest.raises(InvalidCheckpoint):
        verify_checkpoint(text, LOG_KEY.public_key())


def _with_padding_bit_set(b64: str) -> str:
    """The same bytes in non-canonical base64: a padding bit of the last character set."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    data = b64.rstrip("=")
    last = alphabet[alphabet.index(data[-1]) + 1]
    return data[:-1] + last + b64[len(data) :]


def _malformed_texts() -> list[object]:
    good = _signed().to_text()
    body, _, signature_line = good.partition("\n\n")
    blob = signature_line.split(" ")[2].strip()
    other = sign_checkpoint(CHECKPOINT, OTHER_KEY)
    other_blob = _blob(other.key_id, other.signature)
    cases = {
        "empty": "",
        "no-trailing-newline": good[:-1],
        "no-blank-line": good.replace("\n\n", "\n"),
        "no-signature": body + "\n\n",
        "extra-body-line": good.replace("1700000000\n", "1700000000\nextra\n"),
        "missing-timestamp": good.replace("1700000000\n", ""),
        "leading-zero-size": good.replace("\n8\n", "\n08\n"),
        "signed-size": good.replace("\n8\n", "\n+8\n"),
        "size-over-uint64": good.replace("\n8\n", f"\n{2**64}\n"),
        "unpadded-root": good.replace(ROOT_8_B64, ROOT_8_B64.rstrip("=")),
        "short-root": good.replace(ROOT_8_B64, base64.b64encode(bytes(31)).decode()),
        "crlf": good.replace("\n", "\r\n"),
        "hyphen-not-em-dash": good.replace("\u2014", "-"),
        "tab-separated": good.replace(f"\u2014 {ORIGIN} ", f"\u2014\t{ORIGIN}\t"),
        "truncated-signature": good.replace(blob, base64.b64encode(b"x" * 60).decode()),
        "same-log-signature-twice": good + signature_line,
        "two-log-signatures": good + signature_line.replace(blob, other_blob),
        "witness-only": good.replace(f"\u2014 {ORIGIN} ", "\u2014 witness.example "),
        "trailing-blank-line": good + "\n",
        "empty-log-with-root": good.replace("\n8\n", "\n0\n"),
        "too-many-signature-lines": good + "".join(f"\u2014 w{i} {blob}\n" for i in range(64)),
        "over-length": good + "".join(f"\u2014 {i:0>250} {blob}\n" for i in range(60)),
        "non-canonical-root-base64": good.replace(ROOT_8_B64, _with_padding_bit_set(ROOT_8_B64)),
        "non-canonical-signature-base64": good.replace(blob, _with_padding_bit_set(blob)),
    }
    return [pytest.param(text, id=name) for name, text in cases.items()]


@pytest.mark.parametrize("text", _malformed_texts())
def test_malformed_text_is_rejected(text: str) -> None:
    with pytest.raises(InvalidCheckpoint):
        SignedCheckpoint.from_text(text)
    with pytest.raises(InvalidCheckpoint):
        verify_checkpoint(text, LOG_KEY.public_key())


def test_rejections_carry_one_message_whatever_the_cause() -> None:
    messages = set()
    attempts: list[Callable[[], object]] = [
        lambda: SignedCheckpoint.from_text("nonsense"),
        lambda: verify_checkpoint(_signed(), OTHER_KEY.public_key()),
        lambda: verify_checkpoint(_signed(), LOG_KEY.public_key(), origin="x"),
        lambda: verify_cosignature(_signed(), "witness.example", WITNESS_KEY.public_key()),
    ]
    for attempt in attempts:
        with pytest.raises(InvalidCheckpoint) as caught:
            attempt()
        messages.add(str(caught.value))
    assert len(messages) == 1
    assert issubclass(InvalidCheckpoint, CheckpointError)
    assert issubclass(CheckpointError, CryptoError)


@pytest.mark.parametrize(
    ("origin", "size", "root", "timestamp"),
    [
        pytest.param("", 1, bytes(32), 0, id="empty-origin"),
        pytest.param("police example", 1, bytes(32), 0, id="space-in-origin"),
        pytest.param("police+audit", 1, bytes(32), 0, id="plus-in-origin"),
        pytest.param("police\naudit", 1, bytes(32), 0, id="newline-in-origin"),
        pytest.param(ORIGIN, -1, bytes(32), 0, id="negative-size"),
        pytest.param(ORIGIN, True, bytes(32), 0, id="bool-size"),
        pytest.param(ORIGIN, 1, bytes(31), 0, id="short-root"),
        pytest.param(ORIGIN, 0, bytes(32), 0, id="empty-log-with-nonempty-root"),
        pytest.param(ORIGIN, 1, bytes(32), -5, id="negative-timestamp"),
    ],
)
def test_checkpoint_rejects_invalid_fields(
    origin: str, size: int, root: bytes, timestamp: int
) -> None:
    with pytest.raises(ValueError):
        Checkpoint(origin, size, root, timestamp)


# Cosignatures


def test_cosignature_verifies_and_survives_text_round_trip() -> None:
    cosigned = add_cosignature(_signed(), "customs.example/witness", WITNESS_KEY)
    parsed = SignedCheckpoint.from_text(cosigned.to_text())
    assert parsed == cosigned
    witness_key = WITNESS_KEY.public_key()
    assert verify_cosignature(parsed, "customs.example/witness", witness_key) == CHECKPOINT
    assert verify_checkpoint(parsed, LOG_KEY.public_key()) == CHECKPOINT


def test_cosignature_covers_its_own_context_and_body() -> None:
    cosigned = add_cosignature(_signed(), "w.example", WITNESS_KEY)
    (cosignature,) = cosigned.cosignatures
    message = COSIGNATURE_CONTEXT + CHECKPOINT.body()
    WITNESS_KEY.public_key().verify(cosignature.signature, message)
    assert cosignature.key_id == key_id(WITNESS_KEY.public_key())


def test_several_witnesses_can_cosign_and_each_verifies() -> None:
    cosigned = add_cosignature(_signed(), "a.example", WITNESS_KEY)
    cosigned = add_cosignature(cosigned, "b.example", OTHER_KEY)
    parsed = SignedCheckpoint.from_text(cosigned.to_text())
    assert verify_cosignature(parsed, "a.example", WITNESS_KEY.public_key()) == CHECKPOINT
    assert verify_cosignature(parsed, "b.example", OTHER_KEY.public_key()) == CHECKPOINT
    assert parsed.to_text().count("\u2014 ") == 3


@pytest.mark.parametrize(
    ("name", "key"),
    [
        pytest.param("w.example", OTHER_KEY, id="wrong-key"),
        pytest.param("other.example", WITNESS_KEY, id="wrong-name"),
    ],
)
def test_cosignature_check_rejects_wrong_witness(name: str, key: Ed25519PrivateKey) -> None:
    cosigned = add_cosignature(_signed(), "w.example", WITNESS_KEY)
    with pytest.raises(InvalidCheckpoint):
        verify_cosignature(cosigned, name, key.public_key())


def test_cosignature_moved_to_another_checkpoint_is_rejected() -> None:
    cosigned = add_cosignature(_signed(), "w.example", WITNESS_KEY)
    later = sign_checkpoint(replace(CHECKPOINT, timestamp=1_700_000_060), LOG_KEY)
    moved = replace(later, cosignatures=cosigned.cosignatures)
    with pytest.raises(InvalidCheckpoint):
        verify_cosignature(moved, "w.example", WITNESS_KEY.public_key())


def test_cosignature_is_not_accepted_as_the_log_signature() -> None:
    # A node key is both a log key and a witness key for its peers: its cosignature of a
    # checkpoint must not pass as its own signature over the same body.
    cosigned = add_cosignature(_signed(), "w.example", WITNESS_KEY)
    (cosignature,) = cosigned.cosignatures
    passed_off = SignedCheckpoint(CHECKPOINT, cosignature.signature, cosignature.key_id)
    with pytest.raises(InvalidCheckpoint):
        verify_checkpoint(passed_off, WITNESS_KEY.public_key())


def test_log_signature_is_not_accepted_as_a_cosignature() -> None:
    signed = _signed()
    passed_off = replace(
        signed, cosignatures=(Cosignature("w.example", signed.key_id, signed.signature),)
    )
    with pytest.raises(InvalidCheckpoint):
        verify_cosignature(passed_off, "w.example", LOG_KEY.public_key())


def test_witness_cannot_use_the_log_origin_or_cosign_twice() -> None:
    with pytest.raises(ValueError):
        add_cosignature(_signed(), ORIGIN, WITNESS_KEY)
    once = add_cosignature(_signed(), "w.example", WITNESS_KEY)
    with pytest.raises(ValueError):
        add_cosignature(once, "w.example", WITNESS_KEY)


# Properties

_ORIGINS = st.text(
    alphabet=st.characters(codec="utf-8", categories=["L", "N", "P", "S"], exclude_characters="+"),
    min_size=1,
    max_size=64,
)


@settings(deadline=None, max_examples=50)
@given(
    origin=_ORIGINS,
    size=st.integers(1, 2**64 - 1),
    root=st.binary(min_size=32, max_size=32),
    timestamp=st.integers(0, 2**64 - 1),
)
def test_any_valid_checkpoint_round_trips_and_verifies(
    origin: str, size: int, root: bytes, timestamp: int
) -> None:
    assume(origin != "w.example")
    checkpoint = Checkpoint(origin, size, root, timestamp)
    signed = add_cosignature(sign_checkpoint(checkpoint, LOG_KEY), "w.example", WITNESS_KEY)
    text = signed.to_text()
    assert SignedCheckpoint.from_text(text) == signed
    assert verify_checkpoint(text, LOG_KEY.public_key(), origin=origin) == checkpoint
