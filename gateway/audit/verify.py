"""Offline verification of an audit export with nothing but the node's public key.

1. Every checkpoint must carry the node's signature; checkpoints must be consistent with each
   other (same size, same root; consistency proofs between sizes).
2. The export's list of leaf hashes is authenticated by recomputing the tree root at each
   checkpoint size. Where it matches, each entry is compared with the authentic hash of its
   own sequence number, which pinpoints modified, deleted, inserted and reordered entries and
   a truncated tail. Beyond the last checkpoint it matches, entries are checked against the
   checkpoints directly (localised to the span between two checkpoints).

Every problem becomes a :class:`Finding` naming the entry (seq) or line; nothing raises.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from crypto.checkpoint import (
    Checkpoint,
    InvalidCheckpoint,
    SignedCheckpoint,
    verify_checkpoint,
    verify_cosignature,
)
from crypto.keys import public_key_to_text
from crypto.merkle import InvalidProof, MerkleFrontier, verify_inclusion
from gateway.audit.export_reader import ExportContents, Finding, read_export
from gateway.audit.format import EXPORT_FORMAT
from gateway.audit.verify_chain import CheckpointChain
from gateway.audit.verify_entries import check_entries

_COMMON = {"kind", "format", "origin", "mode", "last_seq", "public_key"}
_HEADER_KEYS = {"range": _COMMON | {"first_seq"}, "selection": _COMMON | {"filters"}}


@dataclass
class VerifyReport:
    findings: list[Finding] = field(default_factory=list)
    origin: str | None = None
    mode: str | None = None
    first_seq: int | None = None
    last_seq: int | None = None
    entries: int = 0
    checkpoints: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "origin": self.origin,
            "mode": self.mode,
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "entries": self.entries,
            "checkpoints": self.checkpoints,
            "findings": [f.as_dict() for f in self.findings],
        }


def verify_export(
    path: Path,
    public_key: Ed25519PublicKey,
    *,
    witnesses: dict[str, Ed25519PublicKey] | None = None,
    extra_checkpoints: list[str] | None = None,
) -> VerifyReport:
    """Verify the export at ``path``. ``witnesses`` (name -> key) also checks those
    partners' cosignatures; ``extra_checkpoints`` are checkpoints obtained elsewhere (from a
    witness, say) that the export must be consistent with and reach."""
    contents = read_export(path)
    return verify_contents(contents, public_key, witnesses or {}, extra_checkpoints or [])


def verify_contents(
    contents: ExportContents,
    public_key: Ed25519PublicKey,
    witnesses: dict[str, Ed25519PublicKey],
    extra_checkpoints: list[str],
) -> VerifyReport:
    findings = list(contents.findings)
    report = VerifyReport(findings=findings, entries=contents.entries)
    header = contents.header or {}
    if contents.header is None:
        findings.append(Finding("malformed-export", "the export has no header record"))
    elif header.get("format") != EXPORT_FORMAT or set(header) != _HEADER_KEYS.get(
        str(header.get("mode")), set()
    ):
        findings.append(Finding("malformed-export", "unknown export format or header", line=1))
    if contents.header is not None and header.get("public_key") != public_key_to_text(public_key):
        findings.append(
            Finding("malformed-export", "the export names another public key than the one given")
        )
    origin = header.get("origin") if isinstance(header.get("origin"), str) else None
    report.origin, report.mode = origin, header.get("mode")
    valid = _checkpoints(contents, public_key, origin, witnesses, extra_checkpoints, report)
    if not any(line is not None for line, _ in valid):
        findings.append(Finding("bad-checkpoint", "no checkpoint in the export verifies"))
    mode = "selection" if header.get("mode") == "selection" else "range"
    chain = CheckpointChain(valid, contents, findings)
    if mode == "range":
        _verify_range(contents, header, chain, findings, report)
    else:
        _verify_selection(contents, chain, findings)
    _check_end(contents, findings)
    return report


def _checkpoints(
    contents: ExportContents,
    key: Ed25519PublicKey,
    origin: str | None,
    witnesses: dict[str, Ed25519PublicKey],
    extra: list[str],
    report: VerifyReport,
) -> list[tuple[int | None, Checkpoint]]:
    valid: list[tuple[int | None, Checkpoint]] = []
    texts: list[tuple[int | None, str]] = [*contents.checkpoints, *((None, t) for t in extra)]
    for line, text in texts:
        where = f"line {line}" if line is not None else "given with --checkpoint"
        try:
            signed = SignedCheckpoint.from_text(text)
            checkpoint = verify_checkpoint(signed, key, origin=origin)
        except InvalidCheckpoint:
            report.findings.append(
                Finding(
                    "bad-checkpoint",
                    f"checkpoint ({where}) is malformed or not signed by the node's key",
                    line=line,
                )
            )
            continue
        origin = origin or checkpoint.origin
        cosigners = []
        for name, witness_key in witnesses.items():
            if any(c.witness == name for c in signed.cosignatures):
                try:
                    verify_cosignature(signed, name, witness_key)
                    cosigners.append(name)
                except InvalidCheckpoint:
                    report.findings.append(
                        Finding(
                            "bad-checkpoint",
                            f"the cosignature of {name} on the checkpoint of size "
                            f"{checkpoint.size} ({where}) does not verify",
                            line=line,
                        )
                    )
        valid.append((line, checkpoint))
        report.checkpoints.append(
            {
                "size": checkpoint.size,
                "root": checkpoint.root_hash.hex(),
                "timestamp": checkpoint.timestamp,
                "line": line,
                "cosigned_by": sorted(c.witness for c in signed.cosignatures),
                "cosignatures_verified": cosigners,
            }
        )
    report.origin = origin
    return valid


def _verify_range(
    contents: ExportContents,
    header: dict[str, Any],
    chain: CheckpointChain,
    findings: list[Finding],
    report: VerifyReport,
) -> None:
    prefix_size, prefix_hashes = (
        (contents.prefix[1], contents.prefix[2]) if contents.prefix else (0, [])
    )
    try:
        frontier = MerkleFrontier(prefix_size, prefix_hashes)
    except ValueError:
        findings.append(Finding("malformed-export", "the prefix hashes do not fit their size"))
        frontier = MerkleFrontier()
        prefix_size = 0
    first = prefix_size + 1
    if contents.prefix is None and contents.entries:
        findings.append(Finding("malformed-export", "the export has no prefix record"))
    if header.get("first_seq") not in (None, first):
        findings.append(
            Finding(
                "malformed-export",
                f"the header says entries start at "
                f"{header.get('first_seq')}, the prefix says {first}",
                line=1,
            )
        )
    # Authenticate the leaf-hash list against every checkpoint size it reaches.
    ref_states = _ref_states(contents, frontier, first, chain)
    ref_roots = {size: state.root() for size, state in ref_states.items()}
    trusted_seeds = [n for n in chain.nodes() if ref_roots.get(n[0]) == n[1]]
    if trusted_seeds:
        trusted = chain.component(trusted_seeds)
    else:
        latest = [n for n in chain.nodes() if n[0] == max(chain.roots, default=-1)]
        trusted = chain.component(latest[:1])
    chain.judge(trusted, findings)
    last = max((n[0] for n in trusted), default=prefix_size)
    ref_trusted = max((n[0] for n in trusted_seeds), default=prefix_size)
    report.first_seq, report.last_seq = first, last
    if header.get("last_seq") not in (None, last) and trusted:
        findings.append(
            Finding(
                "malformed-export",
                f"the header says the log ends at "
                f"{header.get('last_seq')}, its checkpoints say {last}",
                line=1,
            )
        )
    for node in chain.nodes():
        if chain.lines[node] is None and node[0] > last:
            findings.append(
                Finding(
                    "truncated-log",
                    f"a checkpoint of size {node[0]} exists but the export stops at {last}",
                    seq=last + 1,
                )
            )
    trusted_roots = {size: root for size, root in trusted if size > ref_trusted}
    for size in sorted(trusted_roots):
        if ref_roots.get(size) not in (None, trusted_roots[size]):
            findings.append(
                Finding(
                    "altered-proof",
                    f"the export's leaf hash list does not match the checkpoint of size {size}",
                )
            )
            break
    chain.require_links(findings)
    expected = max(0, last - first + 1)
    if contents.ref_first not in (None, first) or contents.ref_count() != expected:
        findings.append(
            Finding(
                "malformed-export", f"the leaf hash list does not cover entries {first}..{last}"
            )
        )
    check_entries(
        contents,
        first,
        ref_trusted,
        last,
        ref_states.get(ref_trusted, frontier),
        trusted_roots,
        findings,
    )


def _ref_states(
    contents: ExportContents, prefix: MerkleFrontier, first: int, chain: CheckpointChain
) -> dict[int, MerkleFrontier]:
    """The tree, per the export's leaf-hash list, at each checkpoint size the list reaches."""
    states: dict[int, MerkleFrontier] = {}
    wanted = sorted(s for s in chain.roots if s >= prefix.size)
    frontier = prefix.copy()
    usable = contents.ref_count() if contents.ref_first == first else 0
    ref = contents.ref
    position = bisect.bisect_left(wanted, frontier.size)
    if position < len(wanted) and wanted[position] == frontier.size:
        states[frontier.size] = frontier.copy()
        position += 1
    for i in range(usable):
        if position >= len(wanted):
            break
        frontier.append(bytes(ref[32 * i : 32 * i + 32]))
        if frontier.size == wanted[position]:
            states[frontier.size] = frontier.copy()
            position += 1
    return states


def _verify_selection(
    contents: ExportContents, chain: CheckpointChain, findings: list[Finding]
) -> None:
    latest = [n for n in chain.nodes() if n[0] == max(chain.roots, default=-1)]
    trusted = chain.component(latest[:1])
    chain.judge(trusted, findings)
    roots = dict(trusted)
    previous = 0
    for i in range(contents.entries):
        seq, line = contents.entry_seq[i], contents.entry_line[i]
        leaf = bytes(contents.entry_hash[32 * i : 32 * i + 32])
        proof = contents.inclusion.get(i)
        if seq < 1 or proof is None or proof[1] != seq:
            findings.append(
                Finding("inserted-entry", f"line {line} has no inclusion proof", seq, line)
            )
            continue
        _line, _seq, size, path = proof
        root = roots.get(size)
        try:
            if root is None:
                raise InvalidProof("no trusted checkpoint of that size")
            verify_inclusion(leaf, seq - 1, size, path, root)
        except InvalidProof:
            findings.append(
                Finding("modified-entry", f"entry {seq} (line {line}) is not in the log", seq, line)
            )
            continue
        if seq == previous:
            findings.append(Finding("inserted-entry", f"entry {seq} appears twice", seq, line))
        elif seq < previous:
            findings.append(
                Finding("reordered-entries", f"entry {seq} comes after entry {previous}", seq, line)
            )
        previous = max(previous, seq)


def _check_end(contents: ExportContents, findings: list[Finding]) -> None:
    if contents.end is None:
        findings.append(
            Finding(
                "truncated-log",
                f"the export stops at line {contents.last_line} without its end record",
                line=contents.last_line,
            )
        )
        return
    line, count = contents.end
    if line != contents.last_line:
        findings.append(Finding("malformed-export", "records follow the end record", line=line))
    if count > contents.entries:
        findings.append(
            Finding(
                "deleted-entry",
                f"the end record counts {count} entries, the export holds {contents.entries}",
                line=line,
            )
        )
    elif count < contents.entries:
        findings.append(
            Finding(
                "inserted-entry",
                f"the end record counts {count} entries, the export holds {contents.entries}",
                line=line,
            )
        )
