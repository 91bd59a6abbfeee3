"""A small federation on loopback for the audit tests: real ``cordon serve`` processes with
mutual TLS, fast audit timers (``audit.yaml``), and an auditor token on every node."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx

from gateway.demo.cluster import AgencySetup, Cluster, ClusterNode, provision
from gateway.federation.tls import local_client_context
from gateway.node import open_database, utc_now
from gateway.users.store import TokenStore

FAST_TIMERS = "checkpoint_interval_seconds: 0.4\nwitness_interval_seconds: 0.4\n"
T = TypeVar("T")


def audit_cluster(root: Path, agencies: list[str]) -> tuple[Cluster, dict[str, str]]:
    """Provision (not start) a federation; returns it and each node's auditor token."""
    cluster = provision(
        root, [AgencySetup(a, a.title()) for a in agencies], peer_deadline_seconds=1.5
    )
    tokens = {}
    for agency, member in cluster.nodes.items():
        (member.config.folder / "audit.yaml").write_text(FAST_TIMERS)
        engine = open_database(member.config)
        try:
            tokens[agency] = TokenStore(engine).issue("aud", "auditor", utc_now()).token
        finally:
            engine.dispose()
    return cluster, tokens


def client(member: ClusterNode, token: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(
        base_url=member.local_url,
        verify=local_client_context(member.config.federation_ca),
        timeout=30,
        headers=headers,
    )


def wait_for(probe: Callable[[], T | None], timeout: float = 30.0, what: str = "") -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or probe}")
        time.sleep(0.2)


def witness_view(member: ClusterNode, token: str) -> dict[str, Any]:
    with client(member, token) as c:
        response = c.get("/api/v1/audit/witness")
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result
