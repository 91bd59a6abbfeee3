"""Routes of the local users: password login (the one route without a token, since it is
how a token is obtained) and "who am I"."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from gateway.node import Node
from gateway.users.auth import require_role
from gateway.users.schemas import LoginAnswer, LoginRequest, WhoAmI
from gateway.users.store import ROLES, LocalUser

router = APIRouter()
ANY_ROLE = require_role(*ROLES)


@router.post("/api/v1/login", response_model=LoginAnswer)
async def login(body: LoginRequest, request: Request) -> LoginAnswer:
    node: Node = request.app.state.node
    issued = await run_in_threadpool(node.login.login, body.username, body.password)
    expires = datetime.fromtimestamp(issued.expires_at or 0, UTC)
    return LoginAnswer(
        token=issued.token,
        username=issued.user.username,
        role=issued.user.role,
        expires_at=expires.isoformat(),
    )


@router.get("/api/v1/me", response_model=WhoAmI)
async def who_am_i(user: Annotated[LocalUser, Depends(ANY_ROLE)]) -> WhoAmI:
    return WhoAmI(username=user.username, roles=sorted(user.roles), token_id=user.token_id)
