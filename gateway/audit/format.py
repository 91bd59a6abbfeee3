"""The export format's shared vocabulary, used by the exporter and the offline verifier alike
(the verifier imports nothing that touches a database)."""

from __future__ import annotations

import base64
import json
from typing import Any

EXPORT_FORMAT = "cordon-audit-export/1"
LEAF_HASH_CHUNK = 4096
CSV_COLUMNS = (
    "kind",
    "seq",
    "time",
    "channel",
    "requester_agency",
    "requester_user",
    "responder_agency",
    "purpose",
    "case_reference",
    "query_type",
    "decision",
    "identifier_types",
    "identifier_count",
    "rule_id",
    "policy_version",
    "rho_charged",
    "latency_ms",
    "record",
)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: object) -> bytes:
    """Strict base64: one byte string has exactly one accepted text (no spare bits set)."""
    if not isinstance(text, str):
        raise ValueError("expected base64 text")
    raw = base64.b64decode(text, validate=True)
    if base64.b64encode(raw).decode("ascii") != text:
        raise ValueError("not canonical base64")
    return raw


def record_bytes(payload: dict[str, Any]) -> bytes:
    """A non-entry record as one line of JSON."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def csv_cell(value: Any) -> str:
    """A document value as a CSV cell; text a spreadsheet would run as a formula gets a
    leading apostrophe. The verifier derives every cell the same way and compares."""
    if value is None:
        return ""
    if isinstance(value, dict | list):
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    else:
        text = str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def csv_entry_cells(document: dict[str, Any]) -> list[str]:
    """The readable columns of an entry row (between ``kind`` and ``record``)."""
    return [csv_cell(document.get(column)) for column in CSV_COLUMNS[1:-1]]
