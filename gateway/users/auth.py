"""Authentication and role checks for the local listener, in one FastAPI dependency that
returns a frozen context (the user) or refuses."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from gateway.errors import Forbidden, NotAuthenticated
from gateway.users.store import ROLES, LocalUser, TokenStore


def require_role(*roles: str) -> Callable[[Request], Awaitable[LocalUser]]:
    """Dependency: the bearer token must belong to a live user whose role is in ``roles``
    (``admin`` is not implied: each route names who it is for)."""
    unknown = set(roles) - set(ROLES)
    if not roles or unknown:
        raise ValueError(f"require_role needs known roles, got {sorted(unknown) or 'none'}")
    allowed = frozenset(roles)

    async def dependency(request: Request) -> LocalUser:
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer "):
            raise NotAuthenticated("a bearer token is required (create one with 'cordon user add')")
        store: TokenStore = request.app.state.node.tokens
        user = await run_in_threadpool(store.resolve, header.removeprefix("Bearer ").strip())
        if user is None:
            raise NotAuthenticated("the bearer token is unknown or revoked")
        if user.role not in allowed:
            raise Forbidden(
                f"role '{user.role}' may not use this route; "
                f"it is for: {', '.join(sorted(allowed))}"
            )
        return user

    return dependency
