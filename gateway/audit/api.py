"""Audit routes. On the local listener, for the ``auditor`` role: search, summary, export,
checkpoints, proofs and what this node witnessed. On the federation listener, for partners
(authenticated like every peer route, answers signed): this node's latest checkpoint,
consistency proofs, returning a cosignature, and what this node saw of another partner's log.
Thin: parse, call one service, shape the answer."""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from crypto.checkpoint import InvalidCheckpoint, SignedCheckpoint, verify_cosignature
from crypto.keys import public_key_to_text
from gateway.audit import summary as summaries
from gateway.audit.export import ExportRequest, csv_text, export_name, jsonl
from gateway.audit.format import b64
from gateway.audit.schemas import AuditEvent
from gateway.audit.search import EntryFilter, search
from gateway.audit.witness import CHECKPOINT_PATH, CONSISTENCY_PATH, COSIGN_PATH, WITNESSED_PATH
from gateway.errors import BadRequest, NotFound
from gateway.federation.peer_api import PeerCall, authenticated_peer, signed_answer
from gateway.node import Node
from gateway.users.auth import require_role
from gateway.users.store import LocalUser

peer_router = APIRouter()
local_router = APIRouter(prefix="/api/v1/audit")
Auditor = Annotated[LocalUser, Depends(require_role("auditor"))]


def _filters(
    since: datetime | None = None,
    until: datetime | None = None,
    partner: str | None = None,
    user: str | None = None,
    purpose: str | None = None,
    case_reference: str | None = None,
    query_type: str | None = None,
    decision: str | None = None,
    channel: str | None = None,
) -> EntryFilter:
    return EntryFilter(since, until, partner, user, purpose, case_reference, query_type,
                       decision, channel)  # fmt: skip


Filters = Annotated[EntryFilter, Depends(_filters)]


def _record_auditor(
    node: Node, user: LocalUser, query_type: str, f: EntryFilter, started: float, **extra: Any
) -> None:
    """Auditors' own reading of the log is logged too."""
    node.audit.append(
        AuditEvent(
            channel="local",
            requester_agency=node.agency,
            requester_user=user.username,
            query_type=query_type,
            decision="allowed",
            recorded_at=node.clock(),
            latency_ms=round((time.perf_counter() - started) * 1000, 2),
            outcome={"filters": f.describe(), **extra},
        )
    )


@local_router.get("/entries")
async def entries(
    request: Request,
    user: Auditor,
    f: Filters,
    after_seq: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    started = time.perf_counter()
    node: Node = request.app.state.node
    found, cursor = await run_in_threadpool(
        search, node.audit.store, f, after_seq=after_seq, limit=limit
    )
    await run_in_threadpool(
        _record_auditor, node, user, "audit-search", f, started, returned=len(found)
    )
    return {"entries": found, "next_after_seq": cursor}


@local_router.get("/summary")
async def summary(
    request: Request,
    user: Auditor,
    f: Filters,
    period: Literal["day", "week", "month", "all"] = "month",
) -> dict[str, Any]:
    started = time.perf_counter()
    node: Node = request.app.state.node

    def compute() -> list[dict[str, Any]]:
        docs = summaries.documents(node.audit.store, f)
        return summaries.summarise(docs, node.agency, period, f.partner)

    rows = await run_in_threadpool(compute)
    await run_in_threadpool(_record_auditor, node, user, "audit-summary", f, started)
    return {"agency": node.agency, "period": period, "rows": rows}


@local_router.get("/export")
async def export(
    request: Request,
    user: Auditor,
    f: Filters,
    fmt: Annotated[Literal["jsonl", "csv"], Query(alias="format")] = "jsonl",
    from_seq: Annotated[int | None, Query(ge=1)] = None,
    checkpoints: Annotated[int, Query(ge=1, le=1024)] = 16,
) -> StreamingResponse:
    started = time.perf_counter()
    node: Node = request.app.state.node
    export_request = ExportRequest(filters=f, from_seq=from_seq, checkpoints=checkpoints)
    await run_in_threadpool(_record_auditor, node, user, "audit-export", f, started, format=fmt)
    key = public_key_to_text(node.signing_key.public_key())
    name = export_name(node.agency, node.clock(), fmt)
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if fmt == "csv":
        return StreamingResponse(
            csv_text(node.audit, export_request, key), media_type="text/csv", headers=headers
        )
    return StreamingResponse(
        jsonl(node.audit, export_request, key), media_type="application/x-ndjson", headers=headers
    )


@local_router.get("/checkpoint")
async def latest_checkpoint(request: Request, _user: Auditor) -> dict[str, Any]:
    node: Node = request.app.state.node
    stored = await run_in_threadpool(node.audit.current_checkpoint)
    return _checkpoint_answer(node, stored.signed)


@local_router.post("/checkpoint")
async def issue_checkpoint(request: Request, _user: Auditor) -> dict[str, Any]:
    node: Node = request.app.state.node
    stored = await run_in_threadpool(node.audit.issue_checkpoint)
    return _checkpoint_answer(node, stored.signed)


def _checkpoint_answer(node: Node, signed: SignedCheckpoint) -> dict[str, Any]:
    c = signed.checkpoint
    return {
        "origin": c.origin,
        "size": c.size,
        "root": c.root_hash.hex(),
        "timestamp": c.timestamp,
        "checkpoint": signed.to_text(),
        "public_key": public_key_to_text(node.signing_key.public_key()),
    }


@local_router.get("/proof/inclusion")
async def inclusion(
    request: Request,
    _user: Auditor,
    seq: Annotated[int, Query(ge=1)],
    tree_size: Annotated[int | None, Query(ge=1)] = None,
) -> dict[str, Any]:
    node: Node = request.app.state.node
    proof = await run_in_threadpool(node.audit.inclusion, seq, tree_size)
    return {
        "seq": proof.seq,
        "leaf_index": proof.seq - 1,
        "tree_size": proof.tree_size,
        "leaf_hash": b64(proof.leaf_hash),
        "proof": [b64(h) for h in proof.proof],
        "entry": proof.entry.decode("utf-8") if proof.entry is not None else None,
    }


@local_router.get("/proof/consistency")
async def consistency(
    request: Request,
    _user: Auditor,
    old_size: Annotated[int, Query(ge=0)],
    new_size: Annotated[int, Query(ge=0)],
) -> dict[str, Any]:
    node: Node = request.app.state.node
    proof = await run_in_threadpool(node.audit.consistency, old_size, new_size)
    return {"old_size": old_size, "new_size": new_size, "proof": [b64(h) for h in proof]}


@local_router.get("/witness")
async def witness(request: Request, _user: Auditor, partner: str | None = None) -> dict[str, Any]:
    node: Node = request.app.state.node
    store = node.audit.witnessed
    observations = await run_in_threadpool(store.observations, partner, 100)
    alerts = await run_in_threadpool(store.alerts, partner, 100)
    return {
        "observations": [o.as_dict() for o in observations],
        "alerts": [a.as_dict() for a in alerts],
    }


# -- the federation listener -------------------------------------------------------------


def _answer(call: PeerCall, path: str, payload: dict[str, Any]) -> Response:
    node = call.node
    body = {"responder": node.agency, "request_jti": call.peer.claims.jti, **payload}
    return signed_answer(node, path, body)


def _json_object(call: PeerCall) -> dict[str, Any]:
    try:
        body = json.loads(call.body or b"{}")
    except ValueError as exc:
        raise BadRequest("the request body is not JSON") from exc
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    return body


@peer_router.post(CHECKPOINT_PATH)
async def peer_checkpoint(call: Annotated[PeerCall, Depends(authenticated_peer)]) -> Response:
    log = call.node.audit
    latest = await run_in_threadpool(log.current_checkpoint)
    cosigned = await run_in_threadpool(log.checkpoints.latest_cosigned)
    return _answer(
        call,
        CHECKPOINT_PATH,
        {
            "checkpoint": latest.signed.to_text(),
            "cosigned": cosigned.signed.to_text() if cosigned is not None else None,
        },
    )


@peer_router.post(CONSISTENCY_PATH)
async def peer_consistency(call: Annotated[PeerCall, Depends(authenticated_peer)]) -> Response:
    body = _json_object(call)
    old, new = body.get("old_size"), body.get("new_size")
    if not isinstance(old, int) or not isinstance(new, int) or isinstance(old | new, bool):
        raise BadRequest("old_size and new_size must be integers")
    proof = await run_in_threadpool(call.node.audit.consistency, old, new)
    return _answer(
        call, CONSISTENCY_PATH, {"old_size": old, "new_size": new, "proof": [b64(h) for h in proof]}
    )


@peer_router.post(COSIGN_PATH)
async def peer_cosign(call: Annotated[PeerCall, Depends(authenticated_peer)]) -> Response:
    node = call.node
    text = _json_object(call).get("checkpoint")
    member = node.manifest.member(call.peer.agency)
    if not isinstance(text, str) or member is None:
        raise BadRequest("a cosigned checkpoint is expected")
    try:
        signed = SignedCheckpoint.from_text(text)
        verify_cosignature(signed, call.peer.agency, member.public_key)
    except InvalidCheckpoint as exc:
        raise BadRequest("the cosignature does not verify") from exc
    c = signed.checkpoint
    stored = await run_in_threadpool(node.audit.checkpoints.find, c)
    if stored is None or stored.signed.checkpoint != c:
        raise NotFound("this node issued no such checkpoint")
    mine = next(s for s in signed.cosignatures if s.witness == call.peer.agency)
    accepted = await run_in_threadpool(
        node.audit.checkpoints.add_cosignature, stored.id, mine, node.clock()
    )
    return _answer(call, COSIGN_PATH, {"accepted": accepted})


@peer_router.post(WITNESSED_PATH)
async def peer_witnessed(call: Annotated[PeerCall, Depends(authenticated_peer)]) -> Response:
    agency = _json_object(call).get("log")
    if not isinstance(agency, str):
        raise BadRequest("name the log ('log': agency)")
    seen = await run_in_threadpool(call.node.audit.witnessed.reference, agency)
    return _answer(
        call, WITNESSED_PATH, {"log": agency, "checkpoint": seen.checkpoint if seen else None}
    )
