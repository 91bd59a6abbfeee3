"""Mutual TLS between nodes: the client context that trusts only the federation CA and
presents this node's certificate, and a uvicorn protocol that hands the TLS peer's
certificate to the application (uvicorn does not put it in the ASGI scope itself)."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

#: Key under ``request.state`` where the DER certificate of the TLS peer is found.
PEER_CERT_STATE_KEY = "cordon_tls_peer_der"


def client_context(certificate: Path, key: Path, federation_ca: Path) -> ssl.SSLContext:
    """TLS client context for peer calls: verifies the server against the federation CA
    only (never the system store, never verification off) and presents our certificate."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(federation_ca))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_cert_chain(str(certificate), str(key))
    return context


def local_client_context(federation_ca: Path) -> ssl.SSLContext:
    """TLS client context for a local user's tools (CLI) talking to their own node."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(federation_ca))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


class PeerCertificateProtocol(H11Protocol):
    """H11 protocol that copies the verified peer certificate into per-connection app state,
    which uvicorn copies into every request's ``scope["state"]``."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        ssl_object: Any = transport.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        self.app_state = {**self.app_state, PEER_CERT_STATE_KEY: der}
        super().connection_made(transport)
