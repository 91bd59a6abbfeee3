"""Exporting the log for an auditor, with everything an offline verifier needs: signed
checkpoints, consistency proofs between them, the hashes standing in for pruned or omitted
entries, the list of leaf hashes, and each entry's canonical document byte for byte.

Two modes (``docs/audit.md`` specifies the format):

* ``range``: every entry from a starting point to the latest checkpoint, so that any
  modified, deleted, inserted or reordered entry and any truncation can be found;
* ``selection``: only the entries matching a filter, each with an inclusion proof.

JSON Lines (one record per line, entries being their documents) or CSV (one row per record,
readable columns beside the record itself) carry the same records.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select

from gateway.audit.checkpoints import StoredCheckpoint
from gateway.audit.format import (
    CSV_COLUMNS,
    EXPORT_FORMAT,
    LEAF_HASH_CHUNK,
    b64,
    csv_entry_cells,
    record_bytes,
)
from gateway.audit.search import PAGE, EntryFilter, matches, where_clauses
from gateway.audit.service import AuditLog
from gateway.audit.store import audit_entries


@dataclass(frozen=True)
class ExportRequest:
    """What to export. Content filters (anything but ``since`` / ``from_seq``) make a
    selection; otherwise the export is the range from the first matching entry on."""

    filters: EntryFilter = field(default_factory=EntryFilter)
    from_seq: int | None = None
    checkpoints: int = 16

    @property
    def selective(self) -> bool:
        return any(v is not None for k, v in self.filters.__dict__.items() if k != "since")


def records(log: AuditLog, request: ExportRequest, public_key: str) -> Iterator[bytes]:
    """The export as a stream of records: JSON objects, entries as their exact documents."""
    latest = log.current_checkpoint()
    size = latest.size
    head = log.head()
    if request.selective:
        yield from _selection(log, request, latest, public_key)
        return
    first = max(head.pruned_through + 1, request.from_seq or 1)
    if request.filters.since is not None:
        since_seq = log.store.first_seq_since(request.filters.since)
        first = max(first, size + 1 if since_seq is None else since_seq)
    first = min(first, size + 1)
    yield record_bytes(
        {
            "kind": "header",
            "format": EXPORT_FORMAT,
            "origin": log.origin,
            "mode": "range",
            "first_seq": first,
            "last_seq": size,
            "public_key": public_key,
        }
    )
    chosen = _choose_checkpoints(log, first - 1, latest, request.checkpoints)
    for stored in chosen:
        yield _checkpoint_record(log, stored)
    sizes = sorted({c.size for c in chosen})
    for old, new in itertools.pairwise(sizes):
        proof = log.consistency(old, new)
        yield record_bytes(
            {
                "kind": "consistency",
                "old_size": old,
                "new_size": new,
                "proof": list(map(b64, proof)),
            }
        )
    yield record_bytes(
        {
            "kind": "prefix",
            "size": first - 1,
            "hashes": list(map(b64, log.prefix_hashes(first - 1))),
        }
    )
    index = first - 1
    for chunk in log.store.iter_leaf_hashes(first - 1, size, LEAF_HASH_CHUNK):
        yield record_bytes(
            {"kind": "leaf_hashes", "first_seq": index + 1, "hashes": b64(b"".join(chunk))}
        )
        index += len(chunk)
    count = 0
    for leaf in log.store.iter_leaves(first, size):
        count += 1
        yield leaf
    yield record_bytes({"kind": "end", "entries": count})


def _checkpoint_record(log: AuditLog, stored: StoredCheckpoint) -> bytes:
    cosignatures = log.checkpoints.cosignatures(stored.id)
    signed = stored.signed
    if cosignatures:
        signed = type(signed)(signed.checkpoint, signed.signature, signed.key_id, cosignatures)
    return record_bytes({"kind": "checkpoint", "checkpoint": signed.to_text()})


def _choose_checkpoints(
    log: AuditLog, prefix: int, latest: StoredCheckpoint, wanted: int
) -> list[StoredCheckpoint]:
    """Up to ``wanted`` stored checkpoints spread evenly over the exported range (the more
    there are, the finer a tampered leaf-hash list can still be localised), the latest last."""
    chosen: dict[int, StoredCheckpoint] = {latest.id: latest}
    span = latest.size - prefix
    for i in range(max(0, wanted - 1)):
        target = prefix + (span * i) // max(1, wanted - 1)
        found = log.checkpoints.at_most(target)
        if found is not None:
            chosen.setdefault(found.id, found)
    by_size: dict[int, StoredCheckpoint] = {}
    for stored in sorted(chosen.values(), key=lambda s: s.id):
        by_size[stored.size] = stored
    return [by_size[s] for s in sorted(by_size)]


def _selection(
    log: AuditLog, request: ExportRequest, latest: StoredCheckpoint, public_key: str
) -> Iterator[bytes]:
    size = latest.size
    yield record_bytes(
        {
            "kind": "header",
            "format": EXPORT_FORMAT,
            "origin": log.origin,
            "mode": "selection",
            "last_seq": size,
            "filters": request.filters.describe(),
            "public_key": public_key,
        }
    )
    yield _checkpoint_record(log, latest)
    clauses = where_clauses(request.filters)
    cursor, count = (request.from_seq or 1) - 1, 0
    while True:
        with log.store.engine.connect() as conn:
            rows = conn.execute(
                select(audit_entries.c.seq, audit_entries.c.leaf)
                .where(and_(audit_entries.c.seq > cursor, audit_entries.c.seq <= size, *clauses))
                .order_by(audit_entries.c.seq)
                .limit(PAGE)
            ).all()
        for seq, text in rows:
            cursor = int(seq)
            data = (text or "").encode("utf-8")
            if not matches(request.filters, json.loads(data)):
                continue
            proof = log.inclusion(cursor, size)
            count += 1
            yield data
            yield record_bytes(
                {
                    "kind": "inclusion",
                    "seq": cursor,
                    "tree_size": size,
                    "proof": list(map(b64, proof.proof)),
                }
            )
        if len(rows) < PAGE:
            break
    yield record_bytes({"kind": "end", "entries": count})


def jsonl(log: AuditLog, request: ExportRequest, public_key: str) -> Iterator[bytes]:
    for record in records(log, request, public_key):
        yield record + b"\n"


def csv_row(document: dict[str, Any] | None, record: bytes) -> list[str]:
    if document is None:
        kind = json.loads(record).get("kind", "")
        return [kind] + [""] * (len(CSV_COLUMNS) - 2) + [record.decode("utf-8")]
    return ["entry", *csv_entry_cells(document), record.decode("utf-8")]


def csv_text(log: AuditLog, request: ExportRequest, public_key: str) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for record in records(log, request, public_key):
        parsed = json.loads(record)
        writer.writerow(csv_row(parsed if parsed.get("kind") == "entry" else None, record))
        if buffer.tell() > 65536:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def export_name(origin_agency: str, moment: datetime, fmt: str) -> str:
    return f"audit-{origin_agency}-{moment.strftime('%Y%m%dT%H%M%SZ')}.{fmt}"
