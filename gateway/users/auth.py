"""Authentication and role checks for the local listener, in one FastAPI dependency that
returns a frozen context (the user) or refuses.

A bearer token is either a local API token (``cordon_...``: issued by ``cordon user add`` or
at password login) or, when ``node.yaml`` configures ``oidc``, a JWT from the agency's
identity provider. Roles: ``analyst`` searches, ``officer`` answers follow-ups (and may
search), ``dpo`` owns the policy, ``auditor`` reads the audit trail and the policy,
``admin`` runs the node. No role implies another: each route names who it is for."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from gateway.errors import Forbidden, NotAuthenticated
from gateway.users.oidc import OidcVerifier
from gateway.users.store import ROLES, TOKEN_PREFIX, LocalUser, TokenStore

ROLE_CHECK_ATTRIBUTE = "cordon_roles"


class Authenticator:
    """Turns a bearer token into a user, or ``None`` when it is unknown, revoked or expired."""

    def __init__(
        self,
        tokens: TokenStore,
        oidc: OidcVerifier | None,
        clock: Callable[[], datetime],
    ) -> None:
        self._tokens = tokens
        self._oidc = oidc
        self._clock = clock

    def authenticate(self, bearer: str) -> LocalUser | None:
        if bearer.startswith(TOKEN_PREFIX):
            return self._tokens.resolve(bearer, self._clock())
        if self._oidc is None:
            return None
        identity = self._oidc.verify(bearer)
        if identity is None:
            return None
        if not identity.roles:
            raise Forbidden(
                f"the identity provider grants '{identity.username}' no Cordon role (claim "
                f"'{self._oidc.settings.role_claim}' must name one of: {', '.join(ROLES)})"
            )
        roles = sorted(identity.roles)
        return LocalUser(identity.username, roles[0], identity.token_id, frozenset(roles))


def require_role(*roles: str) -> Callable[[Request], Awaitable[LocalUser]]:
    """Dependency: the bearer token must belong to a live user with a role in ``roles``.
    The dependency carries the roles it admits (``cordon_roles``), so tests can list every
    route's audience."""
    unknown = set(roles) - set(ROLES)
    if not roles or unknown:
        raise ValueError(f"require_role needs known roles, got {sorted(unknown) or 'none'}")
    allowed = frozenset(roles)

    async def dependency(request: Request) -> LocalUser:
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer "):
            raise NotAuthenticated(
                "a bearer token is required (see 'cordon user add' and 'cordon user token')"
            )
        authenticator: Authenticator = request.app.state.node.authenticator
        bearer = header.removeprefix("Bearer ").strip()
        user = await run_in_threadpool(authenticator.authenticate, bearer)
        if user is None:
            raise NotAuthenticated("the bearer token is unknown, expired or revoked")
        if not user.roles & allowed:
            raise Forbidden(
                f"role '{user.role}' may not use this route; "
                f"it is for: {', '.join(sorted(allowed))}"
            )
        return user

    setattr(dependency, ROLE_CHECK_ATTRIBUTE, allowed)
    return dependency
