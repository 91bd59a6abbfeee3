"""Bearer tokens from the agency's own identity provider (OpenID Connect): a JWT signed with a
key from the issuer's key set (JWKS, by URL or file), for the configured issuer and audience,
unexpired. The user's roles come from a claim (a name, a space-separated string or a list;
a dotted path such as ``realm_access.roles`` reaches into nested claims); only roles Cordon
knows count. Every verification failure is the same refusal.

Configured in ``node.yaml``::

    oidc:
      issuer: https://login.agency.example/realms/cordon
      audience: cordon
      jwks: https://login.agency.example/realms/cordon/protocol/openid-connect/certs
      role_claim: roles                  # default
      username_claim: preferred_username # default
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jwt

from gateway.errors import ConfigError
from gateway.users.store import ROLES

ASYMMETRIC = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA")
_KEYS = {"issuer", "audience", "jwks", "role_claim", "username_claim", "algorithms"}


@dataclass(frozen=True)
class OidcSettings:
    issuer: str
    audience: str
    jwks: str
    role_claim: str = "roles"
    username_claim: str = "preferred_username"
    algorithms: tuple[str, ...] = ("RS256", "ES256", "EdDSA")

    @property
    def jwks_is_url(self) -> bool:
        return self.jwks.startswith(("https://", "http://"))


@dataclass(frozen=True)
class OidcIdentity:
    username: str
    roles: frozenset[str]
    token_id: str


def _loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_oidc_settings(doc: object, where: str, folder: Path) -> OidcSettings | None:
    """The ``oidc`` section of ``node.yaml`` (``None`` when absent); ConfigError names the key."""
    if doc is None:
        return None
    if not isinstance(doc, dict):
        raise ConfigError(f"{where}: oidc must be a mapping with issuer, audience and jwks")
    unknown = sorted(set(doc) - _KEYS)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) under oidc: {', '.join(unknown)}; "
            f"allowed: {', '.join(sorted(_KEYS))}"
        )
    text: dict[str, str] = {}
    for key in ("issuer", "audience", "jwks", "role_claim", "username_claim"):
        value = doc.get(key)
        if value is None and key in ("role_claim", "username_claim"):
            continue
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{where}: oidc.{key} must be non-empty text")
        text[key] = value.strip()
    algorithms = doc.get("algorithms", list(OidcSettings.algorithms))
    if (
        not isinstance(algorithms, list)
        or not algorithms
        or not all(isinstance(a, str) and a in ASYMMETRIC for a in algorithms)
    ):
        raise ConfigError(
            f"{where}: oidc.algorithms must be a list chosen from {', '.join(ASYMMETRIC)}"
        )
    jwks = text["jwks"]
    if jwks.startswith(("https://", "http://")):
        parts = urlsplit(jwks)
        if parts.scheme == "http" and not _loopback(parts.hostname):
            raise ConfigError(f"{where}: oidc.jwks must be an https URL (http only on loopback)")
    else:
        path = Path(jwks)
        jwks = str(path if path.is_absolute() else folder / path)
    return OidcSettings(
        issuer=text["issuer"],
        audience=text["audience"],
        jwks=jwks,
        role_claim=text.get("role_claim", OidcSettings.role_claim),
        username_claim=text.get("username_claim", OidcSettings.username_claim),
        algorithms=tuple(algorithms),
    )


class OidcVerifier:
    def __init__(self, settings: OidcSettings, *, leeway_seconds: int = 30) -> None:
        self._settings = settings
        self._leeway = leeway_seconds
        self._client: jwt.PyJWKClient | None = None
        self._keys: jwt.PyJWKSet | None = None
        if settings.jwks_is_url:
            self._client = jwt.PyJWKClient(settings.jwks, lifespan=300, timeout=5)
        else:
            try:
                self._keys = jwt.PyJWKSet.from_json(Path(settings.jwks).read_text("utf-8"))
            except (OSError, jwt.PyJWTError) as exc:
                raise ConfigError(f"oidc.jwks {settings.jwks} is not a readable key set") from exc

    @property
    def settings(self) -> OidcSettings:
        return self._settings

    def verify(self, token: str) -> OidcIdentity | None:
        """The identity in ``token``, or ``None`` if it does not verify (whatever the cause)."""
        s = self._settings
        try:
            key = self._key_for(token)
            if key is None:
                return None
            claims = jwt.decode(
                token,
                key,
                algorithms=list(s.algorithms),
                audience=s.audience,
                issuer=s.issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except (jwt.PyJWTError, ValueError):
            return None
        username = _claim(claims, s.username_claim) or claims.get("sub")
        if not isinstance(username, str) or not username:
            return None
        token_id = str(claims.get("jti") or claims["sub"])[:64]
        roles = _roles(_claim(claims, s.role_claim))
        return OidcIdentity(username[:128], roles, f"oidc:{token_id}")

    def _key_for(self, token: str) -> Any:
        if self._client is not None:
            return self._client.get_signing_key_from_jwt(token).key
        if self._keys is None:  # pragma: no cover - set in __init__ when there is no client
            return None
        kid = jwt.get_unverified_header(token).get("kid")
        keys = list(self._keys.keys)
        if kid is None:
            return keys[0].key if len(keys) == 1 else None
        return next((k.key for k in keys if k.key_id == kid), None)


def _claim(claims: dict[str, Any], path: str) -> Any:
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _roles(value: Any) -> frozenset[str]:
    if isinstance(value, str):
        names = value.split()
    elif isinstance(value, list):
        names = [v for v in value if isinstance(v, str)]
    else:
        names = []
    return frozenset(n for n in names if n in ROLES)
