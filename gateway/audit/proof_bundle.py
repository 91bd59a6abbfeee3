"""Self-contained proofs for one question, as ``cordon audit prove`` writes them and
``cordon audit verify`` checks them offline: "is this entry in the log?" (the entry, its
inclusion proof and the signed checkpoint) and "does the log of size m extend into the log of
size n?" (both signed checkpoints and the consistency proof)."""

from __future__ import annotations

import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from crypto.checkpoint import InvalidCheckpoint, verify_checkpoint
from crypto.merkle import InvalidProof, leaf_hash, verify_consistency, verify_inclusion
from gateway.audit.checkpoints import StoredCheckpoint
from gateway.audit.format import b64, unb64
from gateway.audit.service import AuditLog
from gateway.errors import NotFound

INCLUSION = "inclusion-proof"
CONSISTENCY = "consistency-proof"


def inclusion_bundle(log: AuditLog, seq: int) -> dict[str, Any]:
    """Entry ``seq`` with its inclusion proof in the tree of the latest checkpoint."""
    checkpoint = log.current_checkpoint()
    proof = log.inclusion(seq, checkpoint.size)
    return {
        "kind": INCLUSION,
        "seq": seq,
        "tree_size": proof.tree_size,
        "entry": proof.entry.decode("utf-8") if proof.entry is not None else None,
        "leaf_hash": b64(proof.leaf_hash),
        "proof": [b64(h) for h in proof.proof],
        "checkpoint": checkpoint.signed.to_text(),
    }


def _checkpoint_of(log: AuditLog, size: int) -> StoredCheckpoint:
    stored = log.checkpoints.at_most(size)
    if stored is None or stored.size != size:
        raise NotFound(f"this node issued no checkpoint of size {size}")
    return stored


def consistency_bundle(log: AuditLog, old_size: int, new_size: int | None) -> dict[str, Any]:
    """Consistency between two issued checkpoints (the newer defaults to the latest)."""
    new = log.current_checkpoint() if new_size is None else _checkpoint_of(log, new_size)
    old = _checkpoint_of(log, old_size)
    return {
        "kind": CONSISTENCY,
        "old_size": old.size,
        "new_size": new.size,
        "proof": [b64(h) for h in log.consistency(old.size, new.size)],
        "old_checkpoint": old.signed.to_text(),
        "new_checkpoint": new.signed.to_text(),
    }


def verify_bundle(bundle: dict[str, Any], key: Ed25519PublicKey) -> list[str]:
    """Problems with a proof bundle; empty when it holds."""
    try:
        if bundle.get("kind") == INCLUSION:
            return _verify_inclusion(bundle, key)
        if bundle.get("kind") == CONSISTENCY:
            return _verify_consistency(bundle, key)
    except (KeyError, TypeError, ValueError) as exc:
        return [f"the proof bundle is malformed ({exc})"]
    return ["not a proof bundle"]


def _verify_inclusion(bundle: dict[str, Any], key: Ed25519PublicKey) -> list[str]:
    try:
        checkpoint = verify_checkpoint(bundle["checkpoint"], key)
    except InvalidCheckpoint:
        return ["the checkpoint is not signed by the node's key"]
    problems = []
    claimed = unb64(bundle["leaf_hash"])
    if bundle.get("entry") is not None:
        entry = bundle["entry"].encode("utf-8")
        if leaf_hash(entry) != claimed:
            problems.append("the entry does not hash to the leaf hash")
        elif json.loads(entry).get("seq") != bundle["seq"]:
            problems.append("the entry carries another sequence number")
    seq, size = int(bundle["seq"]), int(bundle["tree_size"])
    if size != checkpoint.size:
        problems.append("the proof is for another tree size than the checkpoint's")
    try:
        proof = [unb64(h) for h in bundle["proof"]]
        verify_inclusion(claimed, seq - 1, checkpoint.size, proof, checkpoint.root_hash)
    except InvalidProof:
        problems.append(f"entry {seq} is not in the signed log (the inclusion proof fails)")
    return problems


def _verify_consistency(bundle: dict[str, Any], key: Ed25519PublicKey) -> list[str]:
    try:
        old = verify_checkpoint(bundle["old_checkpoint"], key)
        new = verify_checkpoint(bundle["new_checkpoint"], key, origin=old.origin)
    except InvalidCheckpoint:
        return ["a checkpoint is not signed by the node's key"]
    try:
        proof = [unb64(h) for h in bundle["proof"]]
        verify_consistency(old.size, new.size, old.root_hash, new.root_hash, proof)
    except InvalidProof:
        return [
            f"the checkpoints of sizes {old.size} and {new.size} are not consistent "
            "(a rewritten history or a split view)"
        ]
    return []
