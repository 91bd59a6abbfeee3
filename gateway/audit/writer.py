"""Group commit: appenders in one process hand their entries to one writer thread, which
commits whatever has queued up in one transaction (one fsync on SQLite) and then releases
each caller with its sequence number. An append returns only after its batch committed.

With one caller at a time this is a plain durable insert; with many, the fsync is shared.
If a batch fails, each of its entries is retried in its own transaction so that one bad
entry fails only its own caller.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future

from gateway.audit.schemas import AuditEvent

log = logging.getLogger(__name__)

CommitBatch = Callable[[Sequence[AuditEvent]], list[int]]
_Item = tuple[AuditEvent, "Future[int]"]
_STOP = object()


class GroupCommitWriter:
    def __init__(
        self, commit: CommitBatch, *, max_batch: int = 512, linger_seconds: float = 0.0005
    ) -> None:
        if max_batch < 1 or linger_seconds < 0:
            raise ValueError("max_batch must be at least 1 and linger_seconds not negative")
        self._commit = commit
        self._max_batch = max_batch
        self._linger = linger_seconds
        self._queue: queue.SimpleQueue[_Item | object] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def submit(self, entry: AuditEvent) -> int:
        """Queue ``entry`` and wait until it is durably committed; returns its seq."""
        future: Future[int] = Future()
        self._ensure_running()
        self._queue.put((entry, future))
        return future.result()

    def _ensure_running(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="audit-group-commit", daemon=True
                )
                self._thread.start()

    def close(self, timeout: float = 10.0) -> None:
        """Commit what is queued, then stop the writer thread."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None and thread.is_alive():
            self._queue.put(_STOP)
            thread.join(timeout)

    def _run(self) -> None:
        concurrent = False
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch: list[_Item] = [first]  # type: ignore[list-item]
            stop = self._drain(batch)
            if concurrent and not stop and len(batch) < self._max_batch and self._linger:
                # Others were appending a moment ago: a short wait lets their entries share
                # this fsync instead of paying for the next one.
                time.sleep(self._linger)
                stop = self._drain(batch)
            concurrent = len(batch) > 1
            self._commit_batch(batch)
            if stop:
                return

    def _drain(self, batch: list[_Item]) -> bool:
        """Move what is queued into ``batch``; True if asked to stop."""
        while len(batch) < self._max_batch:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return False
            if item is _STOP:
                return True
            batch.append(item)  # type: ignore[arg-type]
        return False

    def _commit_batch(self, batch: list[_Item]) -> None:
        try:
            seqs = self._commit([entry for entry, _ in batch])
        except Exception as exc:
            if len(batch) == 1:
                batch[0][1].set_exception(exc)
                return
            log.warning("audit batch of %d failed (%s); retrying one by one", len(batch), exc)
            for entry, future in batch:
                try:
                    future.set_result(self._commit([entry])[0])
                except Exception as single:
                    future.set_exception(single)
            return
        for (_, future), seq in zip(batch, seqs, strict=True):
            future.set_result(seq)
