"""The DPO's policy API on the local listener, under ``/api/v1/policy``. Reading (the version
in force, the history, one version, explain) is for DPOs and auditors; everything that
proposes or makes a change (validate, diff, dry-run, apply, rollback, lifting a block) is
for DPOs only. The author of a change is the authenticated user, never a field."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from gateway.node import Node
from gateway.policy_admin.schemas import (
    ApplyRequest,
    BlockView,
    DiffRequest,
    DiffView,
    DryRunRequest,
    DryRunView,
    ExplainRequest,
    ExplainView,
    IssueView,
    ProposedPolicy,
    RollbackRequest,
    UnblockRequest,
    ValidationView,
    VersionView,
)
from gateway.policy_admin.service import PolicyAdmin, explain_request
from gateway.users.auth import require_role
from gateway.users.store import LocalUser

router = APIRouter(prefix="/api/v1/policy")
DPO = require_role("dpo")
READER = require_role("dpo", "auditor")
Dpo = Annotated[LocalUser, Depends(DPO)]
Reader = Annotated[LocalUser, Depends(READER)]


def _admin(request: Request) -> PolicyAdmin:
    node: Node = request.app.state.node
    return node.policy_admin


@router.get("", response_model=VersionView)
async def current(request: Request, _user: Reader) -> VersionView:
    version = await run_in_threadpool(_admin(request).current)
    return VersionView.of(version, with_text=True)


@router.get("/history", response_model=list[VersionView])
async def history(
    request: Request, _user: Reader, limit: Annotated[int, Query(ge=1, le=1000)] = 50
) -> list[VersionView]:
    versions = await run_in_threadpool(_admin(request).history, limit)
    return [VersionView.of(v) for v in versions]


@router.get("/versions/{ref}", response_model=VersionView)
async def version(request: Request, ref: str, _user: Reader) -> VersionView:
    found = await run_in_threadpool(_admin(request).version, ref)
    return VersionView.of(found, with_text=True)


@router.post("/explain", response_model=ExplainView)
async def explain(body: ExplainRequest, request: Request, _user: Reader) -> ExplainView:
    asked = explain_request(
        body.partner,
        body.purpose,
        types=body.identifier_types,
        dataset=body.dataset,
        columns=body.columns,
        group_by=body.group_by,
        rho=body.rho,
    )
    explanation = await run_in_threadpool(
        lambda: _admin(request).explain(asked, text=body.text, version=body.version)
    )
    return ExplainView.of(explanation)


@router.post("/validate", response_model=ValidationView)
async def validate(body: ProposedPolicy, request: Request, _user: Dpo) -> ValidationView:
    result = await run_in_threadpool(_admin(request).validate, body.text)
    return ValidationView(
        valid=result.valid,
        version_hash=result.policy.version_hash if result.policy is not None else None,
        problems=result.problems,
        issues=[IssueView.of(i) for i in result.issues],
    )


@router.post("/diff", response_model=DiffView)
async def diff(body: DiffRequest, request: Request, _user: Dpo) -> DiffView:
    result = await run_in_threadpool(lambda: _admin(request).diff(body.text, against=body.against))
    return DiffView(
        against=VersionView.of(result.base),
        proposed_hash=result.proposed_hash,
        changes=result.changes,
    )


@router.post("/dry-run", response_model=DryRunView)
async def dry_run(body: DryRunRequest, request: Request, _user: Dpo) -> DryRunView:
    report = await run_in_threadpool(
        lambda: _admin(request).dry_run(body.text, days=body.days, examples=body.examples)
    )
    return DryRunView.of(report)


@router.post("/apply", response_model=VersionView)
async def apply(body: ApplyRequest, request: Request, user: Dpo) -> VersionView:
    version = await run_in_threadpool(
        lambda: _admin(request).apply(
            body.text, author=user.username, reason=body.reason, base_version=body.base_version
        )
    )
    return VersionView.of(version)


@router.post("/rollback", response_model=VersionView)
async def rollback(body: RollbackRequest, request: Request, user: Dpo) -> VersionView:
    version = await run_in_threadpool(
        lambda: _admin(request).rollback(body.version, author=user.username, reason=body.reason)
    )
    return VersionView.of(version)


@router.get("/blocks", response_model=list[BlockView])
async def blocks(request: Request, _user: Reader) -> list[BlockView]:
    node: Node = request.app.state.node
    return [BlockView.of(b) for b in await run_in_threadpool(node.quotas.blocks)]


@router.post("/blocks/{partner}/lift", response_model=BlockView)
async def lift_block(partner: str, body: UnblockRequest, request: Request, user: Dpo) -> BlockView:
    node: Node = request.app.state.node
    block = await run_in_threadpool(
        lambda: node.quotas.unblock(partner, author=user.username, reason=body.reason)
    )
    return BlockView.of(block)
