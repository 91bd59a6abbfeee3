"""Witnessing: this node fetches each partner's latest checkpoint, checks the partner's
signature (manifest key) and that the checkpoint extends the last one it accepted from that
partner (consistency proof from the partner), countersigns it and keeps what it saw. It also
asks the other partners what they last saw of that log: two checkpoints of one log that no
consistency proof can join are a split view or a rewritten history, and raise an alert (kept,
logged as a ``witness-alert`` entry, shown to auditors). The alert's evidence is the two
checkpoints themselves, both signed by the partner: proof anyone can check."""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from crypto.checkpoint import (
    InvalidCheckpoint,
    SignedCheckpoint,
    add_cosignature,
    verify_checkpoint,
)
from crypto.merkle import InvalidProof, verify_consistency
from gateway.audit.schemas import AuditEvent
from gateway.audit.service import AuditLog, log_origin
from gateway.audit.witness_store import Alert, AlertKind, Observation, Verdict
from gateway.federation.client import PeerClient
from gateway.federation.manifest import Manifest, Member

CHECKPOINT_PATH = "/peer/v1/audit/checkpoint"
CONSISTENCY_PATH = "/peer/v1/audit/consistency"
COSIGN_PATH = "/peer/v1/audit/cosign"
WITNESSED_PATH = "/peer/v1/audit/witnessed"
WITNESS_PURPOSE = "audit-witness"
WITNESS_USER = "witness"

log = logging.getLogger(__name__)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class AuditWitness:
    def __init__(
        self,
        agency: str,
        signing_key: Ed25519PrivateKey,
        manifest: Callable[[], Manifest],
        peers: PeerClient,
        audit: AuditLog,
        clock: Callable[[], datetime],
    ) -> None:
        self._agency = agency
        self._key = signing_key
        self._manifest = manifest
        self._peers = peers
        self._audit = audit
        self._store = audit.witnessed
        self._clock = clock
        # Per (log, other witness): the pair of views last compared, not to ask again.
        self._compared: dict[tuple[str, str], tuple[int, bytes, int, bytes]] = {}

    async def round(self) -> list[Observation]:
        """Witness every partner once, then compare notes with the others."""
        members = self._manifest().peers_of(self._agency)
        seen = await asyncio.gather(*(self.witness(m) for m in members))
        for member in members:
            await self.cross_check(member, [m for m in members if m.agency != member.agency])
        return [o for o in seen if o is not None]

    async def _ask(self, member: Member, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        call = await self._peers.call(
            member,
            path,
            payload,
            purpose=WITNESS_PURPOSE,
            case_reference=WITNESS_PURPOSE,
            user=WITNESS_USER,
        )
        if call.status != "ok" or call.answer is None:
            raise _Unanswered(f"{member.agency}: {call.status} ({call.detail})")
        return call.answer

    async def _consistent(self, member: Member, a: tuple[int, bytes], b: tuple[int, bytes]) -> bool:
        """Do the log states ``a`` and ``b`` belong to one history? Asks the partner for the
        proof; raises :class:`_Unanswered` if it gives none."""
        (old_size, old_root), (new_size, new_root) = sorted([a, b])
        if old_size == new_size:
            return old_root == new_root
        answer = await self._ask(
            member, CONSISTENCY_PATH, {"old_size": old_size, "new_size": new_size}
        )
        try:
            proof = [base64.b64decode(h, validate=True) for h in answer["proof"]]
            verify_consistency(old_size, new_size, old_root, new_root, proof)
        except (InvalidProof, KeyError, TypeError, ValueError):
            return False
        return True

    async def witness(self, member: Member) -> Observation | None:
        try:
            answer = await self._ask(member, CHECKPOINT_PATH, {})
            text = answer.get("checkpoint")
            if not isinstance(text, str):
                raise _Unanswered(f"{member.agency}: no checkpoint in the answer")
            return await self._judge(member, text)
        except _Unanswered as exc:
            log.info("witnessing skipped: %s", exc)
            return None

    async def _judge(self, member: Member, text: str) -> Observation | None:
        now = self._clock()
        try:
            signed = SignedCheckpoint.from_text(text)
            checkpoint = verify_checkpoint(
                signed, member.public_key, origin=log_origin(member.agency)
            )
        except InvalidCheckpoint:
            await self._alert(
                member.agency, "bad-signature", "a checkpoint does not verify", [text]
            )
            return None
        state = (checkpoint.size, checkpoint.root_hash)
        reference = await asyncio.to_thread(self._store.reference, member.agency)
        verdict: Verdict = "first"
        if reference is not None:
            consistent = await self._consistent(member, (reference.size, reference.root), state)
            if not consistent:
                kind: AlertKind = "split-view" if reference.size == state[0] else "inconsistent"
                await self._alert(
                    member.agency,
                    kind,
                    f"checkpoints of sizes {reference.size} and {state[0]} are not consistent",
                    [reference.signed().to_text(), text],
                )
                observation = Observation(
                    member.agency, state[0], state[1], text, "inconsistent", now,
                    detail=f"not consistent with size {reference.size}",
                )  # fmt: skip
                await asyncio.to_thread(self._store.record, observation)
                return observation
            verdict = "stale" if state[0] < reference.size else "consistent"
        plain = SignedCheckpoint(checkpoint, signed.signature, signed.key_id)
        cosigned = add_cosignature(plain, self._agency, self._key)
        line = cosigned.to_text().rstrip("\n").rsplit("\n", 1)[-1]
        observation = Observation(
            member.agency, state[0], state[1], cosigned.to_text(), verdict, now, cosignature=line
        )
        await asyncio.to_thread(self._store.record, observation)
        try:
            await self._ask(member, COSIGN_PATH, {"checkpoint": cosigned.to_text()})
        except _Unanswered as exc:
            log.info("cosignature not delivered: %s", exc)
        return observation

    async def cross_check(self, member: Member, others: list[Member]) -> None:
        """Compare what this node saw of ``member``'s log with what each other partner saw."""
        reference = await asyncio.to_thread(self._store.reference, member.agency)
        if reference is None:
            return
        for other in others:
            try:
                answer = await self._ask(other, WITNESSED_PATH, {"log": member.agency})
                text = answer.get("checkpoint")
                if not isinstance(text, str):
                    continue
                try:
                    theirs = verify_checkpoint(
                        text, member.public_key, origin=log_origin(member.agency)
                    )
                except InvalidCheckpoint:
                    continue  # not the log's signature: says nothing about the log
                pair = (reference.size, reference.root, theirs.size, theirs.root_hash)
                if self._compared.get((member.agency, other.agency)) == pair:
                    continue
                state = (theirs.size, theirs.root_hash)
                if not await self._consistent(member, (reference.size, reference.root), state):
                    await self._alert(
                        member.agency,
                        "split-view",
                        f"{other.agency} was shown a checkpoint of size {theirs.size} that is "
                        f"not consistent with the one of size {reference.size} shown here",
                        [reference.signed().to_text(), text],
                    )
                self._compared[(member.agency, other.agency)] = pair
            except _Unanswered as exc:
                log.info("cross-check skipped: %s", exc)

    async def _alert(self, partner: str, kind: AlertKind, detail: str, evidence: list[str]) -> None:
        alert = Alert(partner, kind, detail, evidence, self._clock())
        if await asyncio.to_thread(self._store.raise_alert, alert):
            log.warning("audit witness alert about %s: %s", partner, detail)
            await asyncio.to_thread(
                self._audit.append,
                AuditEvent(
                    channel="outbound",
                    requester_agency=self._agency,
                    requester_user=WITNESS_USER,
                    responder_agency=partner,
                    query_type="witness-alert",
                    decision="failed",
                    recorded_at=alert.raised_at,
                    outcome={"alert": kind, "detail": detail, "evidence": evidence},
                ),
            )


class _Unanswered(Exception):
    """A partner gave no usable answer: nothing can be concluded this round."""
