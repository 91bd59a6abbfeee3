"""Witnessing on real nodes: a partner that rewrites its history is caught by the witness
that saw the old one, and a witness that was only ever shown the new history learns of the
split view by comparing notes with the other witness."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from crypto.checkpoint import verify_checkpoint
from crypto.keys import load_private_key
from crypto.merkle import InvalidProof, MerkleFrontier, leaf_hash, verify_consistency
from gateway.audit.service import AuditLog
from gateway.audit.store import TREE_ROW, audit_entries, audit_leaves, audit_tree
from gateway.demo.cluster import Cluster
from gateway.storage.database import open_engine
from tests.gateway.audit.cluster import audit_cluster, client, wait_for, witness_view
from tests.gateway.audit.conftest import event


@pytest.fixture
def federation(tmp_path: Path) -> Iterator[tuple[Cluster, dict[str, str]]]:
    cluster, tokens = audit_cluster(tmp_path / "n", ["customs", "intel", "police"])
    try:
        yield cluster, tokens
    finally:
        cluster.stop()


def rewrite_history(database_url: str, seq: int) -> bytes:
    """What an insider with database access would do: change an entry and recompute every
    hash so the log looks whole again. Returns the new root."""
    engine = open_engine(database_url)
    try:
        with engine.begin() as conn:
            leaf = conn.execute(
                select(audit_entries.c.leaf).where(audit_entries.c.seq == seq)
            ).scalar_one()
            document = json.loads(leaf)
            document["decision"] = "denied" if document["decision"] != "denied" else "allowed"
            new_leaf = json.dumps(document, sort_keys=True, separators=(",", ":"))
            conn.execute(
                update(audit_entries).where(audit_entries.c.seq == seq).values(leaf=new_leaf)
            )
            conn.execute(
                update(audit_leaves)
                .where(audit_leaves.c.idx == seq - 1)
                .values(leaf_hash=leaf_hash(new_leaf.encode()))
            )
            hashes = conn.execute(
                select(audit_leaves.c.leaf_hash).order_by(audit_leaves.c.idx)
            ).scalars()
            frontier = MerkleFrontier()
            frontier.extend([bytes(h) for h in hashes])
            conn.execute(
                update(audit_tree)
                .where(audit_tree.c.id == TREE_ROW)
                .values(size=frontier.size, root=frontier.root(), frontier=frontier.to_bytes())
            )
        return frontier.root()
    finally:
        engine.dispose()


def alerts_about(view: dict[str, Any], partner: str) -> list[dict[str, Any]]:
    return [a for a in view["alerts"] if a["partner"] == partner]


def test_a_rewritten_history_and_the_split_view_it_causes_are_detected(
    federation: tuple[Cluster, dict[str, str]],
) -> None:
    cluster, tokens = federation
    customs, intel, police = (cluster.nodes[a] for a in ("customs", "intel", "police"))
    police_key = load_private_key(police.config.signing_key.read_bytes())
    engine = open_engine(police.config.database_url)
    log = AuditLog(engine, agency="police", signing_key=police_key)
    try:
        for i in range(6):
            log.append(event(i))
    finally:
        log.close()
        engine.dispose()

    # Customs witnesses police's genuine history.
    cluster.start(agencies=["police", "customs"])
    wait_for(
        lambda: [
            o
            for o in witness_view(customs, tokens["customs"])["observations"]
            if o["partner"] == "police" and o["size"] >= 6
        ],
        what="customs to witness police's log",
    )
    cluster.stop("customs")

    # Police rewrites entry 2; its timer signs the rewritten tree.
    new_root = rewrite_history(police.config.database_url, 2)

    def police_signed_new_root() -> bool:
        with client(police, tokens["police"]) as c:
            return bool(c.get("/api/v1/audit/checkpoint").json()["root"] == new_root.hex())

    wait_for(police_signed_new_root, what="police to sign its rewritten log")

    # Intel only ever sees the rewritten history: nothing to object to on its own.
    cluster.start(agencies=["intel"])
    wait_for(
        lambda: [
            o
            for o in witness_view(intel, tokens["intel"])["observations"]
            if o["partner"] == "police" and o["root"] == new_root.hex()
        ],
        what="intel to witness police's rewritten log",
    )
    assert alerts_about(witness_view(intel, tokens["intel"]), "police") == []

    # Customs comes back: it sees the rewrite itself, and intel learns of it from customs.
    cluster.start(agencies=["customs"])
    customs_alerts = wait_for(
        lambda: alerts_about(witness_view(customs, tokens["customs"]), "police"),
        what="customs to raise an alert",
    )
    assert customs_alerts[0]["kind"] in ("inconsistent", "split-view")
    intel_alerts = wait_for(
        lambda: alerts_about(witness_view(intel, tokens["intel"]), "police"),
        what="intel to learn of the split view",
    )
    assert intel_alerts[0]["kind"] == "split-view"

    # The evidence is two checkpoints signed by police that no history can join.
    old_text, new_text = intel_alerts[0]["evidence"]
    old = verify_checkpoint(old_text, police_key.public_key())
    new = verify_checkpoint(new_text, police_key.public_key())
    a, b = sorted([old, new], key=lambda c: c.size)
    assert (a.size, a.root_hash) != (b.size, b.root_hash)
    with client(police, tokens["police"]) as c:
        answer = c.get(
            "/api/v1/audit/proof/consistency", params={"old_size": a.size, "new_size": b.size}
        ).json()
    proof = [base64.b64decode(h) for h in answer["proof"]]
    with pytest.raises(InvalidProof):
        verify_consistency(a.size, b.size, a.root_hash, b.root_hash, proof)

    # Both witnesses logged their alert as an entry of their own audit log.
    for member, agency in ((customs, "customs"), (intel, "intel")):
        with client(member, tokens[agency]) as c:
            entries = c.get("/api/v1/audit/entries", params={"query_type": "witness-alert"}).json()[
                "entries"
            ]
        assert entries and entries[0]["responder_agency"] == "police"
