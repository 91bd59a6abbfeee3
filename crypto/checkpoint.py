"""Signed checkpoints of a node's audit log: the node commits to its log's size, root hash
and time with its Ed25519 key, and peers attach cosignatures so it cannot show two histories.

Text form, in the style of the C2SP tlog-checkpoint and signed-note formats (UTF-8, every line
ending in ``\\n``)::

    <origin>                        node/agency id and log name, e.g. ``police.example/audit``
    <size>                          decimal, no sign or leading zeros
    <root hash>                     standard base64 (RFC 4648 section 4) of the 32-byte root
    <timestamp>                     unix seconds, decimal
                                    (blank line)
    — <origin> <base64(key id || signature)>          the log's signature, exactly one
    — <witness> <base64(key id || signature)>         cosignatures, zero or more

The first four lines are the *body*. The key id is the first 4 bytes of SHA-256 of the raw
32-byte Ed25519 public key (:func:`key_id` gives it as 8 hex digits). The log signs
``b"cordon-checkpoint/v1\\n" + body`` and a witness signs ``b"cordon-cosignature/v1\\n" +
body``, so neither signature can be replayed as the other, nor as anything else the same
key signs. Unlike C2SP signed notes, the key id does not cover the key's name.

Exceptions (``CryptoError`` is the ``crypto`` package root, in ``crypto.errors``)::

    CryptoError
     └── CheckpointError
          └── InvalidCheckpoint   text does not parse, or a signature does not verify (opaque)

Building a :class:`Checkpoint` from bad values in code raises ``ValueError``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass, replace

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from crypto.errors import CryptoError
from crypto.merkle import EMPTY_ROOT, HASH_SIZE

__all__ = [
    "CHECKPOINT_CONTEXT",
    "COSIGNATURE_CONTEXT",
    "Checkpoint",
    "CheckpointError",
    "Cosignature",
    "InvalidCheckpoint",
    "SignedCheckpoint",
    "add_cosignature",
    "key_id",
    "sign_checkpoint",
    "verify_checkpoint",
    "verify_cosignature",
]

CHECKPOINT_CONTEXT = b"cordon-checkpoint/v1\n"
COSIGNATURE_CONTEXT = b"cordon-cosignature/v1\n"
SIGNATURE_SIZE = 64
KEY_ID_SIZE = 4
MAX_SIGNATURE_LINES = 64
MAX_TEXT_LENGTH = 16384
_MAX_UINT64 = 2**64 - 1
_DASH = "\u2014"
_REJECTED = "checkpoint rejected"
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,19}")
_KEY_ID = re.compile(r"[0-9a-f]{8}")


class CheckpointError(CryptoError):
    """Base class for checkpoint errors."""


class InvalidCheckpoint(CheckpointError):
    """A checkpoint is malformed or a signature on it does not verify."""


def key_id(public_key: Ed25519PublicKey) -> str:
    """First 8 hex digits of SHA-256 of the raw public key: a hint, not an authenticator."""
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[: 2 * KEY_ID_SIZE]


def _is_name(name: str) -> bool:
    """A signer name: 1-255 printable characters, no whitespace and no ``+``."""
    return (
        0 < len(name) <= 255
        and name.isprintable()
        and not any(c.isspace() for c in name)
        and "+" not in name
    )


def _is_uint64(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _MAX_UINT64


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A log's state at one moment: ``size`` leaves with root ``root_hash``."""

    origin: str
    size: int
    root_hash: bytes
    timestamp: int

    def __post_init__(self) -> None:
        if not _is_name(self.origin):
            raise ValueError("origin must be 1-255 printable characters without spaces or '+'")
        if not (_is_uint64(self.size) and _is_uint64(self.timestamp)):
            raise ValueError("size and timestamp must be unsigned 64-bit integers")
        if not isinstance(self.root_hash, bytes) or len(self.root_hash) != HASH_SIZE:
            raise ValueError(f"root hash must be {HASH_SIZE} bytes")
        if self.size == 0 and self.root_hash != EMPTY_ROOT:
            raise ValueError("an empty log has the empty root")

    def body(self) -> bytes:
        """The canonical signed text: origin, size, base64 root and timestamp lines."""
        root = base64.b64encode(self.root_hash).decode("ascii")
        return f"{self.origin}\n{self.size}\n{root}\n{self.timestamp}\n".encode()


@dataclass(frozen=True, slots=True)
class Cosignature:
    """A witness's signature over a checkpoint it has seen."""

    witness: str
    key_id: str
    signature: bytes


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    """A checkpoint with the log's own signature and any witnesses' cosignatures."""

    checkpoint: Checkpoint
    signature: bytes
    key_id: str
    cosignatures: tuple[Cosignature, ...] = ()

    def __post_init__(self) -> None:
        lines = [(self.checkpoint.origin, self.key_id, self.signature)]
        lines += [(c.witness, c.key_id, c.signature) for c in self.cosignatures]
        for name, kid, signature in lines:
            if not (_is_name(name) and _KEY_ID.fullmatch(kid)):
                raise ValueError("malformed signer name or key id")
            if not isinstance(signature, bytes) or len(signature) != SIGNATURE_SIZE:
                raise ValueError(f"signatures must be {SIGNATURE_SIZE} bytes")
        if any(c.witness == self.checkpoint.origin for c in self.cosignatures):
            raise ValueError("a witness cannot share the log's origin")
        if len({(name, kid) for name, kid, _ in lines}) != len(lines):
            raise ValueError("duplicate signature for one name and key")

    def to_text(self) -> str:
        lines = [
            self.checkpoint.body().decode(),
            "\n",
            _line(self.checkpoint.origin, self.key_id, self.signature),
        ]
        lines += [_line(c.witness, c.key_id, c.signature) for c in self.cosignatures]
        return "".join(lines)

    @classmethod
    def from_text(cls, text: str) -> SignedCheckpoint:
        """Parse without verifying anything; raises :class:`InvalidCheckpoint`."""
        try:
            return _parse(text)
        except (ValueError, binascii.Error):
            pass
        raise InvalidCheckpoint(_REJECTED)


def _line(name: str, kid: str, signature: bytes) -> str:
    blob = base64.b64encode(bytes.fromhex(kid) + signature).decode("ascii")
    return f"{_DASH} {name} {blob}\n"


def _decimal(text: str) -> int:
    if not _DECIMAL.fullmatch(text):
        raise ValueError("not a canonical decimal")
    return int(text)


def _strict_b64(text: str) -> bytes:
    raw = base64.b64decode(text, validate=True)
    if base64.b64encode(raw).decode("ascii") != text:
        raise ValueError("not canonical base64")
    return raw


def _parse(text: str) -> SignedCheckpoint:
    if len(text) > MAX_TEXT_LENGTH or not text.endswith("\n"):
        raise ValueError("bad framing")
    body_text, separator, signature_text = text.partition("\n\n")
    if not separator:
        raise ValueError("no signature block")
    origin, size, root, timestamp = body_text.split("\n")
    # Strict field parsers make the accepted body byte-identical to Checkpoint.body().
    checkpoint = Checkpoint(origin, _decimal(size), _strict_b64(root), _decimal(timestamp))

    signature_lines = signature_text.split("\n")[:-1]
    if not 0 < len(signature_lines) <= MAX_SIGNATURE_LINES:
        raise ValueError("wrong number of signature lines")
    own: list[tuple[str, bytes]] = []
    cosignatures = []
    for line in signature_lines:
        dash, name, blob = line.split(" ")
        raw = _strict_b64(blob)
        if dash != _DASH or len(raw) != KEY_ID_SIZE + SIGNATURE_SIZE:
            raise ValueError("bad signature line")
        kid, signature = raw[:KEY_ID_SIZE].hex(), raw[KEY_ID_SIZE:]
        if name == checkpoint.origin:
            own.append((kid, signature))
        else:
            cosignatures.append(Cosignature(name, kid, signature))
    if len(own) != 1:
        raise ValueError("need exactly one signature by the log")
    kid, signature = own[0]
    return SignedCheckpoint(checkpoint, signature, kid, tuple(cosignatures))


def sign_checkpoint(checkpoint: Checkpoint, private_key: Ed25519PrivateKey) -> SignedCheckpoint:
    signature = private_key.sign(CHECKPOINT_CONTEXT + checkpoint.body())
    return SignedCheckpoint(checkpoint, signature, key_id(private_key.public_key()))


def _signature_holds(
    public_key: Ed25519PublicKey, claimed_key_id: str, signature: bytes, message: bytes
) -> bool:
    if not hmac.compare_digest(claimed_key_id, key_id(public_key)):
        return False
    try:
        public_key.verify(signature, message)
    except InvalidSignature:
        return False
    return True


def verify_checkpoint(
    signed: SignedCheckpoint | str,
    public_key: Ed25519PublicKey,
    *,
    origin: str | None = None,
) -> Checkpoint:
    """Check the log's signature (and, if given, the expected origin) and return the
    checkpoint. Accepts the parsed form or its text; raises :class:`InvalidCheckpoint`."""
    if isinstance(signed, str):
        signed = SignedCheckpoint.from_text(signed)
    checkpoint = signed.checkpoint
    message = CHECKPOINT_CONTEXT + checkpoint.body()
    if (origin is None or origin == checkpoint.origin) and _signature_holds(
        public_key, signed.key_id, signed.signature, message
    ):
        return checkpoint
    raise InvalidCheckpoint(_REJECTED)


def add_cosignature(
    signed: SignedCheckpoint, witness_name: str, witness_private_key: Ed25519PrivateKey
) -> SignedCheckpoint:
    """Return ``signed`` with a cosignature by ``witness_name`` appended.

    This only signs: a witness must first have verified the log's signature and a
    consistency proof from the last checkpoint it cosigned for this log.
    """
    signature = witness_private_key.sign(COSIGNATURE_CONTEXT + signed.checkpoint.body())
    cosignature = Cosignature(witness_name, key_id(witness_private_key.public_key()), signature)
    return replace(signed, cosignatures=(*signed.cosignatures, cosignature))


def verify_cosignature(
    signed: SignedCheckpoint, witness_name: str, witness_public_key: Ed25519PublicKey
) -> Checkpoint:
    """Check that ``witness_name`` cosigned the checkpoint with this key; raises
    :class:`InvalidCheckpoint`. Does not check the log's own signature."""
    wanted = key_id(witness_public_key)
    message = COSIGNATURE_CONTEXT + signed.checkpoint.body()
    for cosignature in signed.cosignatures:
        if cosignature.witness == witness_name and cosignature.key_id == wanted:
            if _signature_holds(witness_public_key, wanted, cosignature.signature, message):
                return signed.checkpoint
            break
    raise InvalidCheckpoint(_REJECTED)
