"""The requester checks every answer's signature against the responder's manifest key."""

from __future__ import annotations

import asyncio
import dataclasses

from crypto.keys import load_private_key
from gateway.demo.cluster import Cluster
from gateway.federation.client import PeerClient
from gateway.federation.tls import client_context
from gateway.node import build_node

PAYLOAD = {
    "vocabulary": 1,
    "queries": [{"ref": "q0", "id_type": "phone", "epoch": 1, "token": "ab" * 32}],
}


def _call_police(federation: Cluster, *, trust_key_of: str) -> tuple[str, str | None]:
    customs = federation.nodes["customs"].config
    node = build_node(customs)
    try:
        police = node.manifest.member("police")
        trusted = node.manifest.member(trust_key_of)
        assert police is not None and trusted is not None
        target = dataclasses.replace(police, public_key=trusted.public_key)
        client = PeerClient(
            "customs",
            load_private_key(customs.signing_key.read_bytes()),
            client_context(customs.tls_certificate, customs.tls_key, customs.federation_ca),
            deadline_seconds=5,
        )

        async def call() -> tuple[str, str | None]:
            try:
                result = await client.call(
                    target,
                    "/peer/v1/match",
                    PAYLOAD,
                    purpose="organised-crime",
                    case_reference="SIG-1",
                    user="tester",
                )
                return result.status, result.detail
            finally:
                await client.aclose()

        return asyncio.run(call())
    finally:
        node.close()


def test_an_answer_signed_by_the_responder_is_accepted(federation: Cluster) -> None:
    assert _call_police(federation, trust_key_of="police") == ("ok", None)


def test_an_answer_that_does_not_verify_with_the_manifest_key_is_refused(
    federation: Cluster,
) -> None:
    status, detail = _call_police(federation, trust_key_of="intel")
    assert status == "error"
    assert detail == "answer signature does not verify"
