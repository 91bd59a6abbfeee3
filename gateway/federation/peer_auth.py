"""Authenticating a partner's request on the federation listener: the TLS client
certificate names an agency in the manifest, the EdDSA peer token verifies with that agency's
key, binds the exact body, was issued by the same agency, and has not been seen before.

Every refusal looks the same from outside ("peer request refused")."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from crypto.errors import CryptoError
from crypto.peer_jwt import PeerClaims, verify_peer_token
from crypto.pki import agency_of_certificate
from gateway.errors import NotAuthenticated
from gateway.federation.manifest import Manifest
from gateway.federation.store import ReplayCache

REFUSED = "peer request refused"


@dataclass(frozen=True)
class PeerContext:
    """Who is asking, established from both the TLS certificate and the peer token."""

    agency: str
    claims: PeerClaims


class PeerRefused(NotAuthenticated):
    """A peer request failed authentication; ``cause`` is for the local audit log only."""

    def __init__(self, cause: str, tls_agency: str | None = None) -> None:
        super().__init__(REFUSED)
        self.cause = cause
        self.tls_agency = tls_agency


class PeerAuthenticator:
    def __init__(
        self,
        agency: str,
        manifest: Callable[[], Manifest],
        replay_cache: ReplayCache,
        clock: Callable[[], float],
    ) -> None:
        self._agency = agency
        self._manifest = manifest
        self._replays = replay_cache
        self._clock = clock

    def authenticate(
        self, peer_cert_der: bytes | None, authorization: str | None, body: bytes
    ) -> PeerContext:
        if not peer_cert_der:
            raise PeerRefused("no client certificate")
        try:
            tls_agency = agency_of_certificate(peer_cert_der)
        except CryptoError as exc:
            raise PeerRefused("client certificate names no agency") from exc
        manifest = self._manifest()
        if manifest.member(tls_agency) is None or tls_agency == self._agency:
            raise PeerRefused("client certificate agency is not a partner", tls_agency)
        if not authorization or not authorization.startswith("Bearer "):
            raise PeerRefused("no peer token", tls_agency)

        def key_for(issuer: str) -> Ed25519PublicKey | None:
            member = manifest.member(issuer)
            return member.public_key if member is not None else None

        now = int(self._clock())
        try:
            claims = verify_peer_token(
                authorization.removeprefix("Bearer "),
                key_for_issuer=key_for,
                audience=self._agency,
                body=body,
                now=now,
            )
        except CryptoError as exc:
            raise PeerRefused("peer token did not verify", tls_agency) from exc
        if claims.issuer != tls_agency:
            raise PeerRefused("token issuer differs from the TLS peer", tls_agency)
        if not self._replays.first_use(claims.jti, claims.issuer, claims.expires_at):
            raise PeerRefused("peer token replayed", tls_agency)
        return PeerContext(tls_agency, claims)
