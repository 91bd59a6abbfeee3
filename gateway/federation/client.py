"""The outbound side of the federation: signed, mutually-authenticated calls to partners,
fanned out in parallel with a per-peer deadline. A slow, dead or misbehaving partner yields a
per-peer status and never holds up or fails the whole answer."""

from __future__ import annotations

import asyncio
import json
import secrets
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from crypto.errors import CryptoError
from crypto.peer_jwt import issue_peer_token
from crypto.signed import verify_bytes
from gateway.federation.manifest import Member

SIGNATURE_HEADER = "Cordon-Signature"
MAX_ANSWER_BYTES = 4 * 1024 * 1024

CallStatus = Literal["ok", "denied", "timeout", "error"]


def answer_context(path: str) -> str:
    """Signature context of an answer to ``path``: an answer to one endpoint can never be
    passed off as an answer to another."""
    return "peer-answer:" + path.strip("/").replace("/", ".")


def encode_body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode("utf-8")


@dataclass(frozen=True)
class PeerCall:
    agency: str
    status: CallStatus
    latency_ms: float
    jti: str | None = None
    answer: dict[str, Any] | None = None
    signature: str | None = None
    detail: str | None = None


class PeerClient:
    def __init__(
        self,
        agency: str,
        signing_key: Ed25519PrivateKey,
        ssl_context: ssl.SSLContext,
        deadline_seconds: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._agency = agency
        self._key = signing_key
        self._ssl = ssl_context
        self._deadline = deadline_seconds
        self._clock = clock
        self._clients: dict[str, httpx.AsyncClient] = {}

    def _client(self, member: Member) -> httpx.AsyncClient:
        client = self._clients.get(member.agency)
        if client is None:
            client = httpx.AsyncClient(
                base_url=member.url,
                verify=self._ssl,
                timeout=httpx.Timeout(self._deadline),
                limits=httpx.Limits(max_keepalive_connections=8, keepalive_expiry=30),
            )
            self._clients[member.agency] = client
        return client

    async def aclose(self) -> None:
        clients, self._clients = self._clients, {}
        for client in clients.values():
            await client.aclose()

    async def call(
        self,
        member: Member,
        path: str,
        payload: dict[str, Any],
        *,
        purpose: str,
        case_reference: str,
        user: str,
    ) -> PeerCall:
        """One signed call; never raises for anything the partner does."""
        started = time.perf_counter()
        body = encode_body(payload)
        jti = secrets.token_urlsafe(16)
        token = issue_peer_token(
            self._key,
            issuer=self._agency,
            audience=member.agency,
            purpose=purpose,
            case_reference=case_reference,
            user=user,
            body=body,
            now=int(self._clock()),
            jti=jti,
        )

        def done(status: CallStatus, **kw: Any) -> PeerCall:
            elapsed = (time.perf_counter() - started) * 1000
            return PeerCall(member.agency, status, round(elapsed, 2), jti=jti, **kw)

        try:
            async with asyncio.timeout(self._deadline):
                response = await self._client(member).post(
                    path,
                    content=body,
                    headers={
                        "Authorization": f"Bearer {token}",
                        "Content-Type": "application/json",
                    },
                )
        except (TimeoutError, httpx.TimeoutException):
            return done("timeout", detail=f"no answer within {self._deadline:g} s")
        except httpx.HTTPError as exc:
            return done("error", detail=f"transport: {type(exc).__name__}")
        if response.status_code in (401, 403, 429):
            return done("denied", detail=_error_detail(response))
        if response.status_code != 200:
            status = f"HTTP {response.status_code}"
            said = _error_detail(response)
            return done("error", detail=status if said == status else f"{status}: {said}")
        if len(response.content) > MAX_ANSWER_BYTES:
            return done("error", detail="answer too large")
        signature = response.headers.get(SIGNATURE_HEADER)
        if not signature:
            return done("error", detail="answer not signed")
        try:
            verify_bytes(
                response.content, signature, member.public_key, context=answer_context(path)
            )
        except CryptoError:
            return done("error", detail="answer signature does not verify")
        try:
            answer = json.loads(response.content)
        except ValueError:
            return done("error", detail="answer is not JSON")
        if not isinstance(answer, dict) or answer.get("responder") != member.agency:
            return done("error", detail="answer names another responder")
        if answer.get("request_jti") != jti:
            return done("error", detail="answer is not bound to this request")
        return done("ok", answer=answer, signature=signature)

    async def fan_out(
        self,
        members: Sequence[Member],
        path: str,
        payload: dict[str, Any],
        *,
        purpose: str,
        case_reference: str,
        user: str,
    ) -> dict[str, PeerCall]:
        calls = [
            self.call(m, path, payload, purpose=purpose, case_reference=case_reference, user=user)
            for m in members
        ]
        return {c.agency: c for c in await asyncio.gather(*calls)}


def _error_detail(response: httpx.Response) -> str:
    """Why the peer refused (its ``detail``, first 200 characters), or the HTTP status when it
    did not say: shown to the asking analyst, never trusted for anything else."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, str):
        return detail[:200]
    return f"HTTP {response.status_code}"
