"""The checkpoints of an export as states of the log (size, root), and which of them the
export's consistency proofs link: a split view or a rewritten history shows up as two states
that no valid proof connects."""

from __future__ import annotations

import itertools
from collections import defaultdict

from crypto.checkpoint import Checkpoint, InvalidCheckpoint, SignedCheckpoint
from crypto.merkle import InvalidProof, verify_consistency
from gateway.audit.export_reader import ExportContents, Finding

Node = tuple[int, bytes]  # (size, root): one state of the log


class CheckpointChain:
    """The valid checkpoints as log states, and which of them the consistency proofs link."""

    def __init__(
        self,
        valid: list[tuple[int | None, Checkpoint]],
        contents: ExportContents,
        findings: list[Finding],
    ) -> None:
        self.lines: dict[Node, int | None] = {}
        self.roots: dict[int, set[bytes]] = defaultdict(set)
        for line, c in valid:
            self.lines.setdefault((c.size, c.root_hash), line)
            self.roots[c.size].add(c.root_hash)
        for size, roots in sorted(self.roots.items()):
            if len(roots) > 1:
                findings.append(
                    Finding(
                        "inconsistent-checkpoints",
                        f"{len(roots)} checkpoints of size {size} have different roots "
                        "(a split view or a rewritten history)",
                        seq=size or None,
                    )
                )
        # Sizes of checkpoints that did not verify (reported already): proofs naming them
        # are not suspect in themselves.
        self.rejected: set[int] = set()
        for _line, text in contents.checkpoints:
            try:
                c = SignedCheckpoint.from_text(text).checkpoint
            except InvalidCheckpoint:
                continue
            if (c.size, c.root_hash) not in self.lines:
                self.rejected.add(c.size)
        self.edges: dict[Node, set[Node]] = defaultdict(set)
        self.failed: list[tuple[int, Node, Node]] = []
        self.proved: set[int] = set()
        self.pairs = {(old, new) for _line, old, new, _proof in contents.consistency}
        for line, old, new, proof in contents.consistency:
            olds = [(old, r) for r in self.roots.get(old, ())]
            news = [(new, r) for r in self.roots.get(new, ())]
            if not olds or not news:
                if (not olds and old in self.rejected) or (not news and new in self.rejected):
                    continue
                findings.append(
                    Finding(
                        "altered-proof",
                        f"line {line}: a consistency proof for sizes {old} -> {new}, "
                        "which no valid checkpoint has",
                        line=line,
                    )
                )
                continue
            self.proved.update((old, new))
            for a in olds:
                for b in news:
                    try:
                        verify_consistency(a[0], b[0], a[1], b[1], proof)
                    except InvalidProof:
                        self.failed.append((line, a, b))
                        continue
                    self.edges[a].add(b)
                    self.edges[b].add(a)

    def nodes(self) -> list[Node]:
        return sorted(self.lines)

    def component(self, seeds: list[Node]) -> set[Node]:
        seen, stack = set(seeds), list(seeds)
        while stack:
            for nxt in self.edges[stack.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        return seen

    def judge(self, trusted: set[Node], findings: list[Finding]) -> None:
        """Report every checkpoint outside the trusted component, and proofs that fail
        between trusted checkpoints (so the proof, not the log, was altered)."""
        anchor = max(trusted) if trusted else None
        for node in self.nodes():
            if node in trusted:
                continue
            size, _root = node
            line = self.lines[node]
            if size in self.proved or anchor is None or size == anchor[0]:
                message = (
                    f"the checkpoint of size {size} (line {line}) is not consistent with "
                    f"the checkpoint of size {anchor[0] if anchor else '?'}"
                )
                findings.append(Finding("inconsistent-checkpoints", message, line=line))
            else:
                findings.append(
                    Finding(
                        "malformed-export",
                        f"no consistency proof links the checkpoint of size {size} "
                        f"(line {line}) to the others",
                        line=line,
                    )
                )
        for line, a, b in self.failed:
            if a in trusted and b in trusted:
                findings.append(
                    Finding(
                        "altered-proof",
                        f"line {line}: the consistency proof {a[0]} -> {b[0]} does not verify "
                        "although both checkpoints match the log",
                        line=line,
                    )
                )

    def require_links(self, findings: list[Finding]) -> None:
        """An export carries a consistency proof between each two consecutive sizes of its
        checkpoints; a missing one is reported even where the entries make it redundant."""
        exported = {size for (size, _root), line in self.lines.items() if line is not None}
        sizes = sorted(exported | self.rejected)
        for old, new in itertools.pairwise(sizes):
            if (old, new) not in self.pairs:
                findings.append(
                    Finding(
                        "malformed-export",
                        f"no consistency proof between the checkpoints of sizes {old} and {new}",
                    )
                )
