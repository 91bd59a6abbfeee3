"""The canonical form of one audit entry: the JSON document whose exact bytes are a leaf of
the log's Merkle tree. The stored document is the record; the table's other columns only
index it for search.

The document is :func:`crypto.signed.canonical_json` of an object holding every field of the
entry, its sequence number (leaf index + 1) and a format tag, so an entry can neither move nor
be mistaken for anything else. Canonical JSON carries no floats: a non-integer number is
written as its shortest round-trip decimal string (``repr``), and time as ISO 8601 UTC with
microseconds, e.g. ``2026-03-01T08:15:00.250000Z``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from crypto.merkle import leaf_hash
from crypto.signed import MAX_SAFE_INTEGER, canonical_json
from gateway.audit.schemas import AuditEvent

ENTRY_KIND = "entry"
ENTRY_VERSION = 1
_MAX_DEPTH = 32
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive time is taken to be UTC already (SQLite returns those)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def format_time(moment: datetime) -> str:
    return utc(moment).strftime(_TIME_FORMAT)


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, _TIME_FORMAT).replace(tzinfo=UTC)


def format_number(value: float | int | None) -> str | None:
    """A number as canonical JSON can carry it: exact, as a decimal string."""
    if value is None:
        return None
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    return repr(float(value))


def clean_text(text: str) -> str:
    """A string every database and canonical JSON accept: lone surrogates and NUL (which
    PostgreSQL text refuses) become U+FFFD, so that no caller input can make an append fail."""
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text)
    return text


def json_safe(value: Any, depth: int = 0) -> Any:
    """``value`` as plain canonical-JSON data: floats and out-of-range integers become
    decimal strings, times ISO strings, tuples lists; anything else its ``str``."""
    if depth > _MAX_DEPTH:
        return "(nested too deeply)"
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, int):
        return value if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER else str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value)
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, Mapping):
        return {clean_text(str(k)): json_safe(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v, depth + 1) for v in value]
    return clean_text(str(value))


def _optional(text: str | None) -> str | None:
    return None if text is None else clean_text(text)


def entry_document(seq: int, event: AuditEvent) -> dict[str, Any]:
    """The document of ``event`` as entry ``seq``: what is hashed, exported and searched."""
    types = {
        clean_text(str(k)): json_safe(int(v)) for k, v in sorted(event.identifier_types.items())
    }
    return {
        "kind": ENTRY_KIND,
        "v": ENTRY_VERSION,
        "seq": seq,
        "time": format_time(event.recorded_at),
        "channel": clean_text(event.channel),
        "requester_agency": clean_text(event.requester_agency),
        "requester_user": clean_text(event.requester_user),
        "responder_agency": _optional(event.responder_agency),
        "purpose": _optional(event.purpose),
        "case_reference": _optional(event.case_reference),
        "query_type": clean_text(event.query_type),
        "identifier_types": types,
        "identifier_count": json_safe(event.identifier_count),
        "decision": clean_text(event.decision),
        "rule_id": _optional(event.rule_id),
        "policy_version": _optional(event.policy_version),
        "rho_charged": format_number(event.rho_charged),
        "latency_ms": format_number(event.latency_ms),
        "outcome": json_safe(event.outcome),
        "signatures": json_safe(event.signatures),
    }


def leaf_bytes(document: Mapping[str, Any]) -> bytes:
    """:func:`crypto.signed.canonical_json` of a document built by this module. For ASCII
    text, where UTF-16 and code-point key order agree, plain sorted ``json.dumps`` is the
    same and several times faster; anything else takes the careful path."""
    text = json.dumps(
        document, ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=False
    )
    if text.isascii():
        return text.encode("ascii")
    return canonical_json(dict(document))


def entry_parts(event: AuditEvent) -> tuple[dict[str, Any], bytes, bytes]:
    """The document of ``event`` and its leaf bytes before and after the sequence number,
    so the costly part is done before the append lock is taken. Canonical JSON of an object
    is its members in key order, and ``seq`` sorts among ASCII keys, so
    ``assemble(head, seq, tail)`` is exactly ``leaf_bytes(entry_document(seq, event))``."""
    document = entry_document(0, event)
    head = leaf_bytes({k: v for k, v in document.items() if k < "seq"})
    tail = leaf_bytes({k: v for k, v in document.items() if k > "seq"})
    return document, head[:-1], tail[1:]


def assemble(head: bytes, seq: int, tail: bytes) -> bytes:
    return b'%s,"seq":%d,%s' % (head, seq, tail)


def entry_leaf(seq: int, event: AuditEvent) -> tuple[dict[str, Any], bytes, bytes]:
    """Document, leaf bytes and RFC 6962 leaf hash of ``event`` as entry ``seq``."""
    document = entry_document(seq, event)
    data = leaf_bytes(document)
    return document, data, leaf_hash(data)
