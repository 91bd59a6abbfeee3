"""The exception tree of the ``crypto`` package. ``crypto`` does not import ``gateway``, so
the node maps these onto its own ``CordonError`` tree at the boundary.

    CryptoError                a key, document or certificate cannot be used as given
    ├── InvalidSignature       a signed document or body failed verification (always opaque)
    ├── InvalidPeerToken       a peer JWT was refused (always opaque)
    └── InvalidCertificate     a certificate is not from the federation CA, or names no agency

The verification errors say *that* a check failed, never *which* one: a peer probing the
verifier learns nothing from the message. The cause may be chained (``__cause__``) for the
node's own debug logs, which never go back over the wire.
"""

from __future__ import annotations

__all__ = ["CryptoError", "InvalidCertificate", "InvalidPeerToken", "InvalidSignature"]


class CryptoError(Exception):
    """Base of every error the ``crypto`` package raises on purpose."""


class InvalidSignature(CryptoError):
    """A signed document or body did not verify: malformed, wrong key, wrong context or
    altered; the message is the same in every case."""


class InvalidPeerToken(CryptoError):
    """A peer request token was refused; the message is the same whatever the reason."""


class InvalidCertificate(CryptoError):
    """A certificate was not issued by the expected CA, is outside its validity period, or
    carries no well-formed Cordon agency identity."""
