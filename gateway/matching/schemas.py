"""Wire models for matching: the peer match request/answer and the local search API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_PEER_QUERIES = 1000
MAX_SEARCH_IDENTIFIERS = 200

DisclosureField = Literal["hit_reference", "contact_point", "record_category", "date_range"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TokenQuery(_Strict):
    ref: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    id_type: str = Field(min_length=1, max_length=32, pattern=r"^[a-z_]+$")
    epoch: int = Field(ge=0)
    token: str = Field(min_length=64, max_length=64, pattern=r"^[0-9a-f]{64}$")


class PeerMatchRequest(_Strict):
    vocabulary: int = Field(ge=1)
    queries: list[TokenQuery] = Field(min_length=1, max_length=MAX_PEER_QUERIES)


class Disclosure(_Strict):
    hit_reference: str | None = None
    contact_point: str | None = None
    record_category: list[str] | None = None
    date_range: list[str] | None = None


class TokenResult(_Strict):
    ref: str
    outcome: Literal["hit", "no_hit", "denied"]
    disclosure: Disclosure | None = None


class PeerMatchAnswer(_Strict):
    responder: str
    request_jti: str
    policy_version: str
    results: list[TokenResult]


class SearchIdentifier(_Strict):
    type: str = Field(min_length=1, max_length=32)
    value: str | None = Field(default=None, max_length=512)
    name: str | None = Field(default=None, max_length=512)
    date_of_birth: str | None = Field(default=None, max_length=32)
    default_region: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    country: str | None = Field(default=None, pattern=r"^[A-Za-z]{2,3}$")


class SearchRequest(_Strict):
    purpose: str = Field(min_length=1, max_length=128)
    case_reference: str = Field(min_length=1, max_length=256)
    identifiers: list[SearchIdentifier] = Field(min_length=1, max_length=MAX_SEARCH_IDENTIFIERS)
    peers: list[str] | None = None


PeerStatus = Literal["ok", "denied", "timeout", "error"]


class PeerOutcome(_Strict):
    outcome: Literal["hit", "no_hit", "denied", "unanswered"]
    disclosure: Disclosure | None = None


class IdentifierResult(_Strict):
    index: int
    type: str
    status: Literal["searched", "invalid"]
    error: str | None = None
    peers: dict[str, PeerOutcome] = Field(default_factory=dict)


class PeerReport(_Strict):
    status: PeerStatus
    latency_ms: float
    detail: str | None = None
    policy_version: str | None = None


class SearchAnswer(_Strict):
    search_id: str
    purpose: str
    case_reference: str
    results: list[IdentifierResult]
    peers: dict[str, PeerReport]
