"""The one exception tree of the node. Domain errors carry no HTTP status; the API layer
(``gateway.http_errors``) maps them to responses in one place.

    CordonError
    ├── ConfigError            a node/federation file is missing, malformed or inconsistent
    ├── ManifestError          the federation manifest is unsigned, tampered or inconsistent
    ├── BadRequest             a request is malformed (names the field and the reason)
    ├── NotAuthenticated       no or unusable credentials (local users and peers alike)
    ├── Forbidden              authenticated but not allowed (role, policy)
    ├── NotFound               the thing asked for does not exist (or is not yours: same answer)
    ├── QuotaExceeded          a per-partner quota or rate limit is exhausted
    ├── BudgetExhausted        a privacy budget cannot cover the charge
    └── PeerError              a partner node answered badly or not at all
"""

from __future__ import annotations


class CordonError(Exception):
    """Base of every error the node raises on purpose."""

    code = "error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class ConfigError(CordonError):
    code = "config_error"


class ManifestError(CordonError):
    code = "manifest_error"


class BadRequest(CordonError):
    code = "bad_request"


class NotAuthenticated(CordonError):
    code = "not_authenticated"


class Forbidden(CordonError):
    code = "forbidden"


class NotFound(CordonError):
    code = "not_found"


class QuotaExceeded(CordonError):
    code = "quota_exceeded"


class BudgetExhausted(CordonError):
    code = "budget_exhausted"


class PeerError(CordonError):
    code = "peer_error"
