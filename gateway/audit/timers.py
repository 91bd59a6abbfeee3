"""The audit log's background work on a running node: a signed checkpoint on a timer (even
when nothing happened, so that a witness can tell an idle log from a frozen one), retention,
and witnessing partners' logs. Each loop survives its own failures."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

from gateway.audit.settings import AuditSettings, load_audit_settings
from gateway.audit.witness import AuditWitness
from gateway.node import Node

log = logging.getLogger(__name__)
RETENTION_EVERY_SECONDS = 3600.0
FIRST_WITNESS_DELAY_SECONDS = 2.0


async def checkpoint_loop(node: Node, settings: AuditSettings) -> None:
    last_prune = float("-inf")
    while True:
        try:
            await asyncio.to_thread(node.audit.issue_checkpoint)
            if (
                settings.retention_days is not None
                and time.monotonic() - last_prune >= RETENTION_EVERY_SECONDS
            ):
                last_prune = time.monotonic()
                await asyncio.to_thread(node.audit.prune, settings.retention_days, user="retention")
        except Exception:
            log.exception("audit checkpoint or retention failed; trying again next interval")
        await asyncio.sleep(settings.checkpoint_interval_seconds)


async def witness_loop(witness: AuditWitness, settings: AuditSettings) -> None:
    await asyncio.sleep(min(FIRST_WITNESS_DELAY_SECONDS, settings.witness_interval_seconds))
    while True:
        try:
            await witness.round()
        except Exception:
            log.exception("audit witnessing round failed; trying again next interval")
        await asyncio.sleep(settings.witness_interval_seconds)


@contextlib.asynccontextmanager
async def audit_timers(node: Node) -> AsyncIterator[None]:
    """Run the loops for as long as the context is open. A bad ``audit.yaml`` fails here,
    before the listener serves."""
    settings = load_audit_settings(node.config.folder)
    loops = [checkpoint_loop(node, settings)]
    if settings.witness:
        witness = AuditWitness(
            node.agency,
            node.signing_key,
            node.current_manifest,
            node.peers,
            node.audit,
            node.clock,
        )
        loops.append(witness_loop(witness, settings))
    tasks = [asyncio.create_task(loop) for loop in loops]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
