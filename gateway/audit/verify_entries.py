"""The entry-by-entry half of offline verification: which entries were modified, deleted,
inserted or reordered, and whether the log was cut short.

Up to ``trusted_to`` the leaf-hash list is authentic (its roots matched signed checkpoints),
so every entry is judged against the hash of its own sequence number. Lines that do not match
are paired, by position, with the sequence numbers missing around them: a pair is a modified
entry, a line left over an inserted one, a number left over a deleted one. Past
``trusted_to`` entries are judged by their sequence numbers and by recomputing the roots of
the later checkpoints, which localises a change to the span between two checkpoints.
"""

from __future__ import annotations

import bisect
from collections import defaultdict

from crypto.merkle import MerkleFrontier
from gateway.audit.export_reader import ExportContents, Finding, FindingKind

_NO_SEQ = -1


def runs(values: list[int]) -> list[tuple[int, int]]:
    """Sorted integers as inclusive (first, last) runs of consecutive values."""
    out: list[tuple[int, int]] = []
    for v in values:
        if out and v == out[-1][1] + 1:
            out[-1] = (out[-1][0], v)
        else:
            out.append((v, v))
    return out


def _span(first: int, last: int) -> str:
    return f"entry {first}" if first == last else f"entries {first}..{last}"


class _Collector:
    """Findings of one kind gathered per entry, reported as runs of sequence numbers."""

    def __init__(self) -> None:
        self.by_kind: dict[FindingKind, dict[int, int | None]] = defaultdict(dict)

    def add(self, kind: FindingKind, seq: int, line: int | None) -> None:
        self.by_kind[kind].setdefault(seq, line)

    def emit(self, findings: list[Finding], texts: dict[FindingKind, str]) -> None:
        for kind, seqs in self.by_kind.items():
            for low, high in runs(sorted(seqs)):
                findings.append(Finding(kind, f"{_span(low, high)}: {texts[kind]}", low, seqs[low]))


_TEXTS: dict[FindingKind, str] = {
    "modified-entry": "modified (the entry does not hash to the leaf the log committed to)",
    "deleted-entry": "deleted (in the signed log, missing from the export)",
    "reordered-entries": "out of order",
}


def check_entries(
    contents: ExportContents,
    first: int,
    trusted_to: int,
    last: int,
    frontier: MerkleFrontier,
    later_roots: dict[int, bytes],
    findings: list[Finding],
) -> None:
    seqs, hashes, ref = contents.entry_seq, contents.entry_hash, contents.ref
    span = max(0, trusted_to - first + 1)
    seen = bytearray(span)
    collector = _Collector()
    bad: list[list[int]] = []  # [index, seq, previous good seq, next good seq]
    pending: list[list[int]] = []
    tail: list[tuple[int, int]] = []
    prev_good = max_good = first - 1
    for i in range(contents.entries):
        s = seqs[i]
        if first <= s <= trusted_to:
            k = s - first
            if hashes[32 * i : 32 * i + 32] == ref[32 * k : 32 * k + 32]:
                if seen[k]:
                    _inserted(findings, contents, i, f"a second copy of entry {s}")
                else:
                    seen[k] = 1
                    if s < max_good:
                        collector.add("reordered-entries", s, contents.entry_line[i])
                    max_good = max(max_good, s)
                for record in pending:
                    record[3] = s
                pending.clear()
                prev_good = s
                continue
        elif trusted_to < s <= last:
            tail.append((s, i))
            continue
        record = [i, s, prev_good, trusted_to + 1]
        bad.append(record)
        pending.append(record)
    missing = _missing(seen, first)
    consumed = _pair(contents, bad, missing, collector, findings)
    leftover = [m for m in missing if m not in consumed]
    for low, high in runs(leftover):
        if high == trusted_to == last and low > max_good and not tail:
            findings.append(
                Finding(
                    "truncated-log",
                    f"the log is cut short: {_span(low, high)} of the signed log are missing",
                    low,
                )
            )
        else:
            for s in range(low, high + 1):
                collector.add("deleted-entry", s, None)
    if last > trusted_to:
        _check_tail(contents, tail, trusted_to, last, frontier, later_roots, collector, findings)
    collector.emit(findings, _TEXTS)


def _missing(seen: bytearray, first: int) -> list[int]:
    out, k = [], seen.find(0)
    while k != -1:
        out.append(first + k)
        k = seen.find(0, k + 1)
    return out


def _inserted(findings: list[Finding], contents: ExportContents, i: int, why: str) -> None:
    s = contents.entry_seq[i]
    line = contents.entry_line[i]
    findings.append(
        Finding(
            "inserted-entry",
            f"line {line} is not an entry of the signed log ({why})",
            None if s == _NO_SEQ else s,
            line,
        )
    )


def _pair(
    contents: ExportContents,
    bad: list[list[int]],
    missing: list[int],
    collector: _Collector,
    findings: list[Finding],
) -> set[int]:
    groups: dict[tuple[int, int], list[list[int]]] = defaultdict(list)
    for record in bad:
        groups[(record[2], record[3])].append(record)
    consumed: set[int] = set()
    for (p, q), records in groups.items():
        low, high = min(p, q), max(p, q)
        window = missing[bisect.bisect_right(missing, low) : bisect.bisect_left(missing, high)]
        free = [m for m in window if m not in consumed]
        free_set = set(free)
        unpaired = []
        for i, s, _p, _q in records:
            if s in free_set:
                collector.add("modified-entry", s, contents.entry_line[i])
                free_set.discard(s)
                consumed.add(s)
            else:
                unpaired.append(i)
        free = [m for m in free if m in free_set]
        for i, m in zip(unpaired, free, strict=False):
            collector.add("modified-entry", m, contents.entry_line[i])
            consumed.add(m)
        for i in unpaired[len(free) :]:
            s = contents.entry_seq[i]
            why = "unreadable" if s == _NO_SEQ else f"it claims seq {s}"
            _inserted(findings, contents, i, why)
    return consumed


def _check_tail(
    contents: ExportContents,
    tail: list[tuple[int, int]],
    trusted_to: int,
    last: int,
    frontier: MerkleFrontier,
    later_roots: dict[int, bytes],
    collector: _Collector,
    findings: list[Finding],
) -> None:
    """Entries past the authenticated leaf hashes: judged by their numbers and by the roots
    of the checkpoints that cover them."""
    first_of: dict[int, int] = {}
    previous = trusted_to
    for s, i in tail:
        if s in first_of:
            _inserted(findings, contents, i, f"seq {s} appears twice")
            continue
        first_of[s] = i
        if s < previous:
            collector.add("reordered-entries", s, contents.entry_line[i])
        previous = max(previous, s)
    absent = [s for s in range(trusted_to + 1, last + 1) if s not in first_of]
    for low, high in runs(absent):
        if high == last:
            findings.append(
                Finding("truncated-log", f"the log is cut short: {_span(low, high)} missing", low)
            )
        else:
            for s in range(low, high + 1):
                collector.add("deleted-entry", s, None)
    if absent:
        return  # roots cannot be recomputed across a gap; the gap is reported
    checked_to = trusted_to
    frontier = frontier.copy()
    for s in range(trusted_to + 1, last + 1):
        i = first_of[s]
        frontier.append(bytes(contents.entry_hash[32 * i : 32 * i + 32]))
        root = later_roots.get(frontier.size)
        if root is None:
            continue
        if frontier.root() != root:
            findings.append(
                Finding(
                    "modified-entry",
                    f"{_span(checked_to + 1, s)}: at least one was modified, inserted or "
                    f"deleted (they do not match the checkpoint of size {s})",
                    checked_to + 1,
                    contents.entry_line[first_of[checked_to + 1]],
                )
            )
            return
        checked_to = s
