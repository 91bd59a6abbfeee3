"""Reading an audit export (JSON Lines or CSV) into its parts for the offline verifier:
fast enough for millions of entries (each entry line is hashed as it stands and parsed once),
and tolerant: whatever cannot be read becomes a finding, never an exception."""

from __future__ import annotations

import csv
import hashlib
import json
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from gateway.audit.format import CSV_COLUMNS, csv_entry_cells, unb64

FindingKind = Literal[
    "modified-entry",
    "deleted-entry",
    "inserted-entry",
    "reordered-entries",
    "truncated-log",
    "bad-checkpoint",
    "inconsistent-checkpoints",
    "altered-proof",
    "malformed-export",
]
#: Records that may sit among the entries.
_ENTRY_SECTION = {"entry", "inclusion", "end", "prefix", "leaf_hashes"}
#: Where each record belongs: an export lists them in this order.
_SECTION = {
    "header": 0,
    "checkpoint": 1,
    "consistency": 2,
    "prefix": 3,
    "leaf_hashes": 4,
    "entry": 5,
    "inclusion": 5,
    "end": 6,
}
_NO_SEQ = -1


@dataclass(frozen=True)
class Finding:
    kind: FindingKind
    message: str
    seq: int | None = None
    line: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "message": self.message, "seq": self.seq, "line": self.line}


@dataclass
class ExportContents:
    """An export taken apart. Entries are kept compactly: ``entry_seq[i]`` (-1 when the line
    names no readable seq), ``entry_hash[32*i:32*i+32]`` and ``entry_line[i]``."""

    header: dict[str, Any] | None = None
    checkpoints: list[tuple[int, str]] = field(default_factory=list)
    consistency: list[tuple[int, int, int, list[bytes]]] = field(default_factory=list)
    prefix: tuple[int, int, list[bytes]] | None = None
    ref_first: int | None = None
    ref: bytearray = field(default_factory=bytearray)
    entry_seq: array[int] = field(default_factory=lambda: array("q"))
    entry_hash: bytearray = field(default_factory=bytearray)
    entry_line: array[int] = field(default_factory=lambda: array("q"))
    inclusion: dict[int, tuple[int, int, int, list[bytes]]] = field(default_factory=dict)
    end: tuple[int, int] | None = None
    findings: list[Finding] = field(default_factory=list)
    last_line: int = 0

    @property
    def entries(self) -> int:
        return len(self.entry_seq)

    def ref_count(self) -> int:
        return len(self.ref) // 32

    def malformed(self, message: str, line: int | None = None) -> None:
        self.findings.append(Finding("malformed-export", message, line=line))


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class _Reader:
    def __init__(self) -> None:
        self.out = ExportContents()
        self._in_entries = False
        self._records = 0
        self._section = 0
        self._next_seq = 1
        self._last_sort_key: dict[str, tuple[int, ...]] = {}

    def bad_entry(self, number: int, data: bytes, seq: int | None) -> None:
        self._entry(number, hashlib.sha256(b"\x00" + data).digest(), seq)

    def _entry(self, number: int, digest: bytes, seq: int | None) -> None:
        out = self.out
        out.entry_seq.append(_NO_SEQ if seq is None else seq)
        out.entry_hash += digest
        out.entry_line.append(number)
        if seq is not None:
            self._next_seq = seq + 1

    def _expected(self, number: int, data: bytes) -> bool:
        """Fast path: a line that hashes to the listed leaf hash of the next sequence number
        is that entry, byte for byte as the node wrote it; no need to parse it. (Whether the
        list itself is authentic is settled later, against the checkpoints.)"""
        out = self.out
        if out.ref_first is None or out.header is None:
            return False
        k = self._next_seq - out.ref_first
        if not 0 <= k < out.ref_count():
            return False
        digest = hashlib.sha256(b"\x00" + data).digest()
        if out.ref[32 * k : 32 * k + 32] != digest:
            return False
        if self._section > _SECTION["entry"]:
            return False
        self._section = _SECTION["entry"]
        self._in_entries = True
        self._entry(number, digest, self._next_seq)
        return True

    def feed(self, number: int, data: bytes, csv_row: list[str] | None = None) -> None:
        out = self.out
        out.last_line = number
        self._records += 1
        if csv_row is None and self._expected(number, data):
            return
        try:
            obj = json.loads(data)
        except ValueError:
            obj = None
        if not isinstance(obj, dict):
            if self._in_entries:
                self.bad_entry(number, data, None)
            else:
                out.malformed(f"line {number} is not a JSON object", number)
            return
        kind = obj.get("kind")
        if csv_row is not None and kind != "entry" and (csv_row[0] != kind or any(csv_row[1:-1])):
            out.malformed(f"the readable columns of line {number} disagree with its record", number)
        self._place(number, kind, obj)
        if kind == "entry":
            self._in_entries = True
            seq = _int(obj.get("seq"))
            if csv_row is not None and csv_row[:-1] != ["entry", *csv_entry_cells(obj)]:
                out.findings.append(
                    Finding(
                        "modified-entry",
                        f"the readable columns of line {number} disagree with its record",
                        seq,
                        number,
                    )
                )
            self.bad_entry(number, data, seq)
            return
        try:
            self._record(number, kind, obj)
        except (ValueError, TypeError, KeyError) as exc:
            if self._in_entries and kind not in _ENTRY_SECTION:
                self.bad_entry(number, data, _int(obj.get("seq")))
            else:
                out.malformed(f"line {number}: unreadable {kind!s} record ({exc})", number)

    def _place(self, number: int, kind: object, obj: dict[str, Any]) -> None:
        """Records come in their sections' order, checkpoints by size, proofs by sizes,
        each once: an export written by a node never breaks this, so a change shows."""
        section = _SECTION.get(kind) if isinstance(kind, str) else None
        if section is None:
            return
        if section < self._section:
            self.out.malformed(f"line {number}: a {kind} record out of its place", number)
        self._section = max(self._section, section)
        if kind == "checkpoint":
            key: tuple[int, ...] = (_checkpoint_size(obj.get("checkpoint")),)
        elif kind == "consistency":
            key = (_int(obj.get("old_size")) or 0, _int(obj.get("new_size")) or 0)
        else:
            return
        last = self._last_sort_key.get(kind)
        if last is not None and key <= last and not (kind == "checkpoint" and key == last):
            self.out.malformed(f"line {number}: {kind} records out of order", number)
        if kind == "checkpoint" and obj.get("checkpoint") in {t for _, t in self.out.checkpoints}:
            self.out.malformed(f"line {number}: a checkpoint listed twice", number)
        self._last_sort_key[kind] = key

    def _record(self, number: int, kind: object, obj: dict[str, Any]) -> None:
        out = self.out
        if kind == "header":
            if out.header is not None or self._records != 1:
                raise ValueError("a header must come first, once")
            out.header = obj
        elif kind == "checkpoint":
            text = obj["checkpoint"]
            if not isinstance(text, str):
                raise TypeError("checkpoint must be text")
            out.checkpoints.append((number, text))
        elif kind == "consistency":
            old, new = _int(obj["old_size"]), _int(obj["new_size"])
            if old is None or new is None:
                raise ValueError("sizes must be integers")
            out.consistency.append((number, old, new, [unb64(h) for h in obj["proof"]]))
        elif kind == "prefix":
            size = _int(obj["size"])
            if size is None or out.prefix is not None:
                raise ValueError("one prefix with an integer size")
            out.prefix = (number, size, [unb64(h) for h in obj["hashes"]])
        elif kind == "leaf_hashes":
            self._leaf_hashes(obj)
        elif kind == "inclusion":
            seq, size = _int(obj["seq"]), _int(obj["tree_size"])
            if seq is None or size is None or not out.entries:
                raise ValueError("an inclusion proof follows its entry")
            proof = [unb64(h) for h in obj["proof"]]
            if out.entries - 1 in out.inclusion:
                raise ValueError("a second inclusion proof for one entry")
            out.inclusion[out.entries - 1] = (number, seq, size, proof)
        elif kind == "end":
            count = _int(obj["entries"])
            if count is None or out.end is not None:
                raise ValueError("one end record with an entry count")
            out.end = (number, count)
        else:
            raise ValueError("unknown record kind")

    def _leaf_hashes(self, obj: dict[str, Any]) -> None:
        out = self.out
        first = _int(obj["first_seq"])
        raw = unb64(obj["hashes"])
        if first is None or len(raw) % 32:
            raise ValueError("leaf hashes come in 32-byte pieces after an integer first_seq")
        if out.ref_first is None:
            out.ref_first = first
            self._next_seq = first
        elif first != out.ref_first + out.ref_count():
            raise ValueError(f"leaf hash chunk starts at {first}, not where the last ended")
        out.ref += raw


def _checkpoint_size(text: object) -> int:
    if isinstance(text, str):
        lines = text.split("\n", 2)
        if len(lines) > 2 and lines[1].isdigit():
            return int(lines[1])
    return -1


def _jsonl_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, 1):
            yield number, raw[:-1] if raw.endswith(b"\n") else raw


def read_export(path: Path) -> ExportContents:
    """Take an export apart; the format (JSON Lines or CSV) is recognised by its first bytes."""
    with path.open("rb") as handle:
        start = handle.read(len(CSV_COLUMNS[0]) + 1)
    reader = _Reader()
    if start.startswith(b"kind,"):
        _read_csv(path, reader)
    else:
        for number, data in _jsonl_lines(path):
            reader.feed(number, data)
        with path.open("rb") as handle:
            handle.seek(0, 2)
            if handle.tell():
                handle.seek(-1, 2)
                if handle.read(1) != b"\n":
                    reader.out.findings.append(
                        Finding("truncated-log", "the export's last line is cut short")
                    )
    return reader.out


def _read_csv(path: Path, reader: _Reader) -> None:
    with path.open(encoding="utf-8", newline="", errors="surrogateescape") as handle:
        rows = csv.reader(handle)
        header = next(rows, None)
        if header != list(CSV_COLUMNS):
            reader.out.malformed("the CSV header row is not the export's", 1)
            return
        for number, row in enumerate(rows, 2):
            if len(row) != len(CSV_COLUMNS):
                reader.feed(number, b"")
                continue
            data = row[-1].encode("utf-8", "surrogateescape")
            reader.feed(number, data, row)
