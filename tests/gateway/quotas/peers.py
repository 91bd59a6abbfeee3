"""Asking a running node as a partner would: signed peer tokens over mutual TLS with the
partner's own key and certificate, to any listener of the node."""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
from collections.abc import Sequence

from crypto.keys import load_private_key
from gateway.config import NodeConfig
from gateway.federation.client import PeerCall, PeerClient
from gateway.federation.manifest import Manifest
from gateway.federation.tls import client_context
from gateway.matching.search import MATCH_PATH


def match_body(id_type: str, count: int, epoch: int) -> dict[str, object]:
    """``count`` random tokens: identifiers nobody holds, so every answer is a miss."""
    return {
        "vocabulary": 1,
        "queries": [
            {"ref": f"q{i}", "id_type": id_type, "epoch": epoch, "token": secrets.token_hex(32)}
            for i in range(count)
        ],
    }


def ask_all(
    asker: NodeConfig,
    manifest: Manifest,
    responder: str,
    urls: Sequence[str],
    bodies: Sequence[dict[str, object]],
) -> list[PeerCall]:
    """Send ``bodies[i]`` to ``urls[i % len(urls)]``, all at once."""
    member = manifest.member(responder)
    assert member is not None
    key = load_private_key(asker.signing_key.read_bytes())
    context = client_context(asker.tls_certificate, asker.tls_key, asker.federation_ca)

    async def run() -> list[PeerCall]:
        clients = [PeerClient(asker.agency, key, context, 10.0) for _ in urls]
        members = [dataclasses.replace(member, url=url) for url in urls]
        try:
            calls = [
                clients[i % len(urls)].call(
                    members[i % len(urls)],
                    MATCH_PATH,
                    body,
                    purpose="organised-crime",
                    case_reference="CASE-Q",
                    user="analyst",
                )
                for i, body in enumerate(bodies)
            ]
            return list(await asyncio.gather(*calls))
        finally:
            for client in clients:
                await client.aclose()

    return asyncio.run(run())
