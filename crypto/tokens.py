"""Keyed match tokens: per-type, per-epoch keys derived with HKDF-SHA256 from the
federation match secret, and tokens computed as HMAC-SHA256 over the canonical value.

The derivation is part of the published vocabulary specification (docs/vocabulary.md):
another implementation given the same secret must produce byte-identical tokens.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

#: HKDF salt; fixed so that key derivation is a pure function of (secret, type, epoch, vocabulary).
MATCH_KEY_SALT = b"cordon/match-key/v1"
MIN_SECRET_BYTES = 32


def match_key_info(id_type: str, epoch: int, vocabulary: int) -> bytes:
    """The HKDF ``info`` string that separates keys by identifier type, epoch and vocabulary."""
    return f"cordon/match/vocabulary={vocabulary}/type={id_type}/epoch={epoch}".encode("ascii")


def derive_match_key(secret: bytes, id_type: str, epoch: int, vocabulary: int) -> bytes:
    """Derive the 32-byte HMAC key for one identifier type in one key epoch."""
    if len(secret) < MIN_SECRET_BYTES:
        raise ValueError(f"match secret must be at least {MIN_SECRET_BYTES} bytes")
    if epoch < 0:
        raise ValueError("key epoch must not be negative")
    return HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=MATCH_KEY_SALT,
        info=match_key_info(id_type, epoch, vocabulary),
    ).derive(secret)


def match_token(key: bytes, canonical_value: str) -> bytes:
    """HMAC-SHA256 of the UTF-8 canonical value under a derived match key."""
    return hmac.digest(key, canonical_value.encode("utf-8"), "sha256")


@dataclass(frozen=True, slots=True)
class MatchToken:
    """A blinded identifier as it travels between nodes: the token never without its
    identifier type, vocabulary version and key epoch."""

    id_type: str
    vocabulary: int
    epoch: int
    value: bytes

    def hex(self) -> str:
        return self.value.hex()


class MatchKeyring:
    """Derived keys for one federation secret, cached per (type, epoch)."""

    def __init__(self, secret: bytes, vocabulary: int) -> None:
        if len(secret) < MIN_SECRET_BYTES:
            raise ValueError(f"match secret must be at least {MIN_SECRET_BYTES} bytes")
        self._secret = secret
        self.vocabulary = vocabulary
        self._keys: dict[tuple[str, int], bytes] = {}

    def key(self, id_type: str, epoch: int) -> bytes:
        cached = self._keys.get((id_type, epoch))
        if cached is None:
            cached = derive_match_key(self._secret, id_type, epoch, self.vocabulary)
            self._keys[(id_type, epoch)] = cached
        return cached

    def token_bytes(self, id_type: str, epoch: int, canonical_value: str) -> bytes:
        """The bare token (the hot path of indexing)."""
        key = self._keys.get((id_type, epoch)) or self.key(id_type, epoch)
        return hmac.digest(key, canonical_value.encode("utf-8"), "sha256")

    def token(self, id_type: str, epoch: int, canonical_value: str) -> MatchToken:
        value = match_token(self.key(id_type, epoch), canonical_value)
        return MatchToken(id_type, self.vocabulary, epoch, value)
