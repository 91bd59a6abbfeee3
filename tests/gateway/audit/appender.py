"""Appends audit entries in a loop from several threads and prints every acknowledged one as
``ack <seq> <marker>`` (flushed): the process the kill -9 and multi-process tests drive.

    python -m tests.gateway.audit.appender DATABASE_URL NAME THREADS COUNT [KEY_PEM_FILE]

COUNT 0 appends until killed. With a key file, thread 0 also issues a checkpoint every 25
of its appends. The database must already be migrated.
"""

from __future__ import annotations

import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

from crypto.keys import load_private_key
from gateway.audit.schemas import AuditEvent
from gateway.audit.service import AuditLog
from gateway.storage.database import open_engine


def main(argv: list[str]) -> None:
    url, name, threads, count = argv[0], argv[1], int(argv[2]), int(argv[3])
    key = load_private_key(Path(argv[4]).read_bytes()) if len(argv) > 4 else None
    engine = open_engine(url)
    log = AuditLog(engine, agency="police", signing_key=key)
    out = threading.Lock()

    def work(worker: int) -> None:
        n = 0
        while count == 0 or n < count:
            marker = f"{name}-{worker}-{n}"
            seq = log.append(
                AuditEvent(
                    channel="peer",
                    requester_agency="customs",
                    requester_user=marker,
                    query_type="match",
                    decision="allowed",
                    recorded_at=datetime.now(UTC),
                    identifier_types={"phone": 1},
                    outcome={"hits": n % 2},
                )
            )
            with out:
                sys.stdout.write(f"ack {seq} {marker}\n")
                sys.stdout.flush()
            n += 1
            if key is not None and worker == 0 and n % 25 == 0:
                log.issue_checkpoint()

    workers = [threading.Thread(target=work, args=(w,)) for w in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    log.close()
    engine.dispose()


if __name__ == "__main__":
    main(sys.argv[1:])
