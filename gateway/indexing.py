"""Indexing a node's datasets: each mapping's records are loaded by its connector, blinded
and written to the token index; records past the policy's retention period are left out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.progress import Progress

from connectors.loading import RecordLoad, load_records
from connectors.mapping import load_mapping
from connectors.parallel import ParallelLoad
from connectors.records import LoadReport
from gateway.matching.indexer import Indexer, IndexSummary
from gateway.node import Node


@dataclass(frozen=True)
class IndexResult:
    summary: IndexSummary
    report: LoadReport


def index_node(
    node: Node,
    *,
    only: Sequence[str] | None = None,
    progress: Progress | None = None,
    loaders: int = 0,
) -> list[IndexResult]:
    """Index every dataset of the node. With ``loaders`` = 0 records are read and
    canonicalised in this process; with N > 0, in N separate processes while this one blinds
    and writes (worth it for large sources: a process costs about half a second to start)."""
    indexer = Indexer(node.match_store, node.keyring, node.config.match_epochs, node.clock)
    policy = node.policy.current()
    results: list[IndexResult] = []
    for mapping_path in node.config.datasets:
        mapping = load_mapping(mapping_path)
        if only and mapping.dataset not in only:
            continue
        task = progress.add_task(mapping.dataset, total=None) if progress is not None else None

        def advance(done: int, task: object = task) -> None:
            if progress is not None and task is not None:
                progress.update(task, completed=done)  # type: ignore[arg-type]

        load: RecordLoad | ParallelLoad = (
            ParallelLoad(mapping_path, loaders) if loaders > 0 else load_records(mapping)
        )
        summary = indexer.index_dataset(
            mapping.dataset,
            load,
            max_age_days=policy.retention_days(mapping.dataset),
            progress=advance,
        )
        if progress is not None and task is not None:
            progress.update(task, total=summary.records_read, completed=summary.records_read)
        results.append(IndexResult(summary, load.report))
    return results
