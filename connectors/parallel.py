"""Loading one source with several processes: each worker reads the whole source but
canonicalises only its shard of the rows (canonicalisation, not reading, is what costs), and
sends the records back in batches. The caller sees one stream and one merged report."""

from __future__ import annotations

import multiprocessing
import queue
from collections.abc import Iterator
from multiprocessing.context import SpawnProcess
from pathlib import Path
from typing import Any

from connectors.loading import load_records
from connectors.mapping import load_mapping
from connectors.records import LoadReport, Record

BATCH = 2000
_DONE = "done"
_FAILED = "failed"


def _work(mapping_path: str, index: int, count: int, out: Any) -> None:
    try:
        load = load_records(load_mapping(mapping_path), shard=(index, count))
        batch: list[Record] = []
        with load:
            for record in load:
                batch.append(record)
                if len(batch) >= BATCH:
                    out.put(("records", batch))
                    batch = []
        if batch:
            out.put(("records", batch))
        out.put((_DONE, load.report))
    except Exception as exc:  # the parent re-raises it with the worker named
        out.put((_FAILED, f"{type(exc).__name__}: {exc}"))


class ParallelLoad:
    """Iterable once over the records of ``mapping_path``; ``report`` is complete after."""

    def __init__(self, mapping_path: Path, workers: int) -> None:
        if workers < 1:
            raise ValueError("at least one worker is needed")
        mapping = load_mapping(mapping_path)  # fail fast, in this process, on a bad mapping
        self.report = LoadReport(dataset=mapping.dataset)
        self._path = str(mapping_path)
        self._workers = workers

    def __iter__(self) -> Iterator[Record]:
        context = multiprocessing.get_context("spawn")
        out = context.Queue(maxsize=4 * self._workers)
        processes: list[SpawnProcess] = [
            context.Process(target=_work, args=(self._path, i, self._workers, out), daemon=True)
            for i in range(self._workers)
        ]
        for process in processes:
            process.start()
        running = self._workers
        try:
            while running:
                try:
                    kind, payload = out.get(timeout=60)
                except queue.Empty:
                    if not any(p.is_alive() for p in processes):
                        raise RuntimeError("a loader process died without a word") from None
                    continue
                if kind == "records":
                    yield from payload
                elif kind == _DONE:
                    self._merge(payload)
                    running -= 1
                else:
                    raise RuntimeError(f"loading {self._path} failed: {payload}")
        finally:
            for process in processes:
                if process.is_alive():
                    process.terminate()
                process.join()
            out.close()

    def _merge(self, part: LoadReport) -> None:
        report = self.report
        report.rows_read += part.rows_read
        report.records += part.records
        report.identifiers += part.identifiers
        report.rows_rejected += part.rows_rejected
        report.fields_rejected += part.fields_rejected
        report.reasons.update(part.reasons)
        room = report.max_examples - len(report.examples)
        report.examples.extend(sorted(part.examples, key=lambda r: r.row)[: max(room, 0)])
