"""The audit log service every capability appends to: durable group-committed appends to a
Merkle tree, signed checkpoints, inclusion and consistency proofs, and retention."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine

from crypto.checkpoint import Checkpoint, sign_checkpoint
from crypto.merkle import (
    SubtreeHasher,
    consistency_proof_from_subtrees,
    inclusion_proof_from_subtrees,
)
from gateway.audit.checkpoints import CheckpointStore, StoredCheckpoint
from gateway.audit.entry import format_time
from gateway.audit.schemas import AuditEvent
from gateway.audit.store import AuditStore, TreeHead
from gateway.audit.witness_store import WitnessStore
from gateway.audit.writer import GroupCommitWriter
from gateway.errors import BadRequest, ConfigError, NotFound


def log_origin(agency: str) -> str:
    """The origin line of a node's checkpoints."""
    return f"cordon/{agency}/audit"


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class InclusionProof:
    seq: int
    tree_size: int
    leaf_hash: bytes
    proof: list[bytes]
    entry: bytes | None  # the entry's document; None once pruned (the proof still holds)


@dataclass(frozen=True)
class PruneOutcome:
    pruned_through: int
    removed: int
    entry_seq: int | None


class _LeafBlocks:
    """Leaf hashes read in aligned blocks, full blocks kept in a small LRU: the bottom levels
    of an audit path all fall in the leaf's own block, so a proof costs one read. Only full
    blocks are kept; leaves never change once written."""

    BLOCK = 256

    def __init__(self, read: Callable[[int, int], Sequence[bytes]], blocks: int = 1024) -> None:
        self._read = read
        self._blocks: OrderedDict[int, Sequence[bytes]] = OrderedDict()
        self._capacity = blocks
        self._lock = threading.Lock()

    def _block(self, number: int) -> Sequence[bytes]:
        with self._lock:
            cached = self._blocks.get(number)
            if cached is not None:
                self._blocks.move_to_end(number)
                return cached
        start = number * self.BLOCK
        hashes = self._read(start, start + self.BLOCK)
        if len(hashes) == self.BLOCK:
            with self._lock:
                self._blocks[number] = hashes
                if len(self._blocks) > self._capacity:
                    self._blocks.popitem(last=False)
        return hashes

    def __call__(self, start: int, end: int) -> Sequence[bytes]:
        if end - start > self.BLOCK:
            return self._read(start, end)
        out: list[bytes] = []
        for number in range(start // self.BLOCK, (end - 1) // self.BLOCK + 1):
            base = number * self.BLOCK
            out.extend(self._block(number)[max(start, base) - base : end - base])
        return out


class _LockedHasher:
    """A :class:`SubtreeHasher` shared by request threads (its LRU cache is not thread-safe)."""

    def __init__(self, read: Callable[[int, int], Sequence[bytes]]) -> None:
        self._hasher = SubtreeHasher(read)
        self._lock = threading.Lock()

    def __call__(self, start: int, end: int) -> bytes:
        with self._lock:
            return self._hasher(start, end)


class AuditLog:
    """Append-only, tamper-evident log of every request the node saw or made."""

    def __init__(
        self,
        engine: Engine,
        *,
        agency: str | None = None,
        signing_key: Ed25519PrivateKey | None = None,
        clock: Callable[[], datetime] = _utc_now,
        max_batch: int = 512,
    ) -> None:
        self._store = AuditStore(engine)
        self.checkpoints = CheckpointStore(engine)
        self.witnessed = WitnessStore(engine)
        self._writer = GroupCommitWriter(self._store.append_batch, max_batch=max_batch)
        self._subtree = _LockedHasher(_LeafBlocks(self._store.leaf_hashes))
        self._agency = agency
        self._key = signing_key
        self._clock = clock

    @property
    def store(self) -> AuditStore:
        return self._store

    @property
    def origin(self) -> str:
        if self._agency is None:
            raise ConfigError("this audit log was opened without its node's agency")
        return log_origin(self._agency)

    def append(self, event: AuditEvent) -> int:
        """Durably append ``event``; returns its sequence number once committed."""
        # Preparing the entry here would overlap with the writer's fsync, but caller threads
        # busy with it make the writer wait for the GIL: measured slower, so the writer does it.
        return self._writer.submit(event)

    def recent(self, limit: int = 100) -> Sequence[dict[str, Any]]:
        return self._store.recent(limit)

    def close(self) -> None:
        self._writer.close()

    def head(self) -> TreeHead:
        return self._store.head()

    # -- checkpoints -------------------------------------------------------------------

    def issue_checkpoint(self) -> StoredCheckpoint:
        """Sign the tree as it is now and keep the checkpoint."""
        if self._key is None:
            raise ConfigError("this audit log was opened without the node's signing key")
        head = self._store.head()
        now = self._clock()
        checkpoint = Checkpoint(self.origin, head.size, head.root, int(now.timestamp()))
        return self.checkpoints.add(sign_checkpoint(checkpoint, self._key), now)

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        return self.checkpoints.latest()

    def current_checkpoint(self) -> StoredCheckpoint:
        """A checkpoint of the whole log as it is now: the latest, or a new one if the log
        grew since."""
        latest = self.checkpoints.latest()
        if latest is not None and latest.size >= self._store.head().size:
            return latest
        return self.issue_checkpoint()

    # -- proofs --------------------------------------------------------------------------

    def _check_size(self, size: int) -> None:
        current = self._store.head().size
        if not 0 <= size <= current:
            raise NotFound(f"the log has {current} entries; no tree of size {size}")

    def inclusion(self, seq: int, size: int | None = None) -> InclusionProof:
        """Proof that entry ``seq`` is in the tree of ``size`` entries (default: the latest
        checkpoint's size)."""
        if size is None:
            latest = self.current_checkpoint()
            size = latest.size
        self._check_size(size)
        if not 1 <= seq <= size:
            raise NotFound(f"entry {seq} is not in the tree of size {size}")
        leaf_hash = self._store.leaf_hashes(seq - 1, seq)[0]
        proof = inclusion_proof_from_subtrees(seq - 1, size, self._subtree)
        return InclusionProof(seq, size, leaf_hash, proof, self._store.leaf_of(seq))

    def consistency(self, old_size: int, new_size: int) -> list[bytes]:
        if not 0 <= old_size <= new_size:
            raise BadRequest("consistency needs 0 <= old size <= new size")
        self._check_size(new_size)
        return consistency_proof_from_subtrees(old_size, new_size, self._subtree)

    def prefix_hashes(self, size: int) -> list[bytes]:
        """The perfect-subtree hashes covering the first ``size`` leaves, largest first (a
        :class:`~crypto.merkle.MerkleFrontier` of ``D[0:size]``)."""
        self._check_size(size)
        hashes, start = [], 0
        for bit in reversed(range(size.bit_length())):
            width = 1 << bit
            if size & width:
                hashes.append(self._subtree(start, start + width))
                start += width
        return hashes

    # -- retention -----------------------------------------------------------------------

    def prune(self, older_than_days: int, *, user: str) -> PruneOutcome:
        """Remove entries recorded more than ``older_than_days`` ago; leaf hashes stay, so
        the remaining entries and every checkpoint still verify. Logged as an entry."""
        if older_than_days < 1:
            raise BadRequest("retention must be at least one day")
        self.current_checkpoint()
        now = self._clock()
        cutoff = now - timedelta(days=older_than_days)
        through, removed = self._store.prune(cutoff)
        if removed == 0:
            return PruneOutcome(through, 0, None)
        seq = self.append(
            AuditEvent(
                channel="admin",
                requester_agency=self._agency or "local",
                requester_user=user,
                query_type="retention-prune",
                decision="allowed",
                recorded_at=now,
                outcome={
                    "pruned_through_seq": through,
                    "entries_removed": removed,
                    "cutoff": format_time(cutoff),
                    "retention_days": older_than_days,
                },
            )
        )
        if self._key is not None:
            self.issue_checkpoint()
        return PruneOutcome(through, removed, seq)
