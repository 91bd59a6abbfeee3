"""What every peer route shares: the authenticated-peer dependency (which also audits every
refusal) and signing the exact bytes of an answer."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass

from fastapi import Request, Response
from starlette.concurrency import run_in_threadpool

from crypto.signed import sign_bytes
from gateway.audit.schemas import AuditEvent
from gateway.errors import BadRequest
from gateway.federation.client import SIGNATURE_HEADER, answer_context, encode_body
from gateway.federation.peer_auth import PeerContext, PeerRefused
from gateway.federation.tls import PEER_CERT_STATE_KEY
from gateway.node import Node

MAX_PEER_BODY = 1024 * 1024


@dataclass(frozen=True)
class PeerCall:
    node: Node
    peer: PeerContext
    body: bytes
    path: str
    started: float


async def authenticated_peer(request: Request) -> PeerCall:
    started = time.perf_counter()
    node: Node = request.app.state.node
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_PEER_BODY):
        raise BadRequest(f"peer request body larger than {MAX_PEER_BODY} bytes")
    body = await request.body()
    if len(body) > MAX_PEER_BODY:
        raise BadRequest(f"peer request body larger than {MAX_PEER_BODY} bytes")
    der = getattr(request.state, PEER_CERT_STATE_KEY, None)
    try:
        peer = await run_in_threadpool(
            node.peer_auth.authenticate, der, request.headers.get("authorization"), body
        )
    except PeerRefused as refused:
        await run_in_threadpool(_audit_refusal, node, request.url.path, refused, started)
        raise
    return PeerCall(node, peer, body, request.url.path, started)


def _audit_refusal(node: Node, path: str, refused: PeerRefused, started: float) -> None:
    node.audit.append(
        AuditEvent(
            channel="peer",
            requester_agency=refused.tls_agency or "unknown",
            requester_user="unknown",
            query_type=path.rsplit("/", 1)[-1],
            decision="denied",
            recorded_at=node.clock(),
            latency_ms=round((time.perf_counter() - started) * 1000, 2),
            outcome={"refused": refused.cause},
        )
    )


def signed_answer(node: Node, path: str, payload: dict[str, object]) -> Response:
    body = encode_body(payload)
    signature = sign_bytes(body, node.signing_key, context=answer_context(path))
    return Response(
        content=body, media_type="application/json", headers={SIGNATURE_HEADER: signature}
    )


def identifier_counts(types: list[str]) -> dict[str, int]:
    return dict(Counter(types))
