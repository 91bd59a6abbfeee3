"""The two ASGI applications of a node: the federation listener (peer API only, behind mutual
TLS) and the local listener (the agency's own users). Neither serves the other's routes."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, FastAPI
from starlette.concurrency import run_in_threadpool

from gateway import http_errors
from gateway.aggregates import api as aggregates_api
from gateway.audit import api as audit_api
from gateway.audit.timers import audit_timers
from gateway.matching.api import local_router, peer_router
from gateway.node import Node
from gateway.policy_admin import api as policy_api
from gateway.users import api as users_api
from gateway.users.auth import require_role
from gateway.users.store import ROLES, LocalUser

REPLAY_SWEEP_SECONDS = 60.0
ANY_LOCAL_ROLE = require_role(*ROLES)


def create_federation_app(node: Node) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        sweeper = asyncio.create_task(_sweep_replays(node))
        try:
            async with audit_timers(node):
                yield
        finally:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper

    app = FastAPI(
        title=f"Cordon peer API ({node.agency})",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.node = node
    http_errors.install(app)
    app.include_router(peer_router)
    app.include_router(aggregates_api.peer_router)
    app.include_router(audit_api.peer_router)

    @app.get("/peer/v1/ping")
    async def ping() -> dict[str, str]:
        return {"agency": node.agency}

    return app


def create_local_app(node: Node) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await node.peers.aclose()

    app = FastAPI(title=f"Cordon node API ({node.agency})", lifespan=lifespan)
    app.state.node = node
    http_errors.install(app)
    app.include_router(local_router)
    app.include_router(aggregates_api.local_router)
    app.include_router(audit_api.local_router)
    app.include_router(users_api.router)
    app.include_router(policy_api.router)

    @app.get("/api/v1/health")
    async def health() -> dict[str, str]:
        return {"status": "ok", "agency": node.agency}

    @app.get("/api/v1/node")
    async def node_status(
        _user: Annotated[LocalUser, Depends(ANY_LOCAL_ROLE)],
    ) -> dict[str, object]:
        counts = await run_in_threadpool(node.match_store.counts)
        return {
            "agency": node.agency,
            "federation": node.manifest.federation,
            "partners": [m.agency for m in node.manifest.peers_of(node.agency)],
            "policy_version": (await run_in_threadpool(node.policy.current)).version_hash,
            "index": counts,
        }

    return app


async def _sweep_replays(node: Node) -> None:
    while True:
        await asyncio.sleep(REPLAY_SWEEP_SECONDS)
        await run_in_threadpool(node.replay_cache.forget_expired, int(time.time()))
        await run_in_threadpool(node.quotas.forget_expired)
