"""A federation of nodes on loopback, each a real ``cordon serve`` process with mutual TLS:
provisioned from scratch, started, waited for, and stopped. The demo runs on it, and so do the
end-to-end tests."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from gateway.config import NodeConfig, load_node_config
from gateway.federation.provision import (
    FederationFiles,
    NodeSpec,
    add_member,
    init_federation,
    init_node,
    install_manifest,
)
from gateway.federation.tls import local_client_context
from gateway.indexing import IndexResult, index_node
from gateway.node import build_node, open_database, utc_now
from gateway.users.store import TokenStore


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class AgencySetup:
    agency: str
    display_name: str
    policy: Path | None = None
    datasets: tuple[Path, ...] = ()
    database: str | None = None
    default_region: str | None = None
    contact_point: str = ""


@dataclass
class ClusterNode:
    agency: str
    config_path: Path
    config: NodeConfig
    analyst_token: str = ""
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def local_url(self) -> str:
        listener = self.config.local_listener
        return f"https://{listener.host}:{listener.port}"

    def client(self, timeout: float = 30.0) -> httpx.Client:
        return httpx.Client(
            base_url=self.local_url,
            verify=local_client_context(self.config.federation_ca),
            timeout=timeout,
            headers={"Authorization": f"Bearer {self.analyst_token}"},
        )


@dataclass
class Cluster:
    root: Path
    federation: FederationFiles
    nodes: dict[str, ClusterNode] = field(default_factory=dict)

    def index(self) -> dict[str, list[IndexResult]]:
        results = {}
        for agency, member in self.nodes.items():
            node = build_node(member.config)
            try:
                results[agency] = index_node(node)
            finally:
                node.close()
        return results

    def start(self, *, timeout: float = 30.0, agencies: Sequence[str] | None = None) -> None:
        for agency in agencies or list(self.nodes):
            member = self.nodes[agency]
            member.log_path = self.root / f"{agency}.log"
            with member.log_path.open("ab") as log:
                member.process = subprocess.Popen(  # noqa: S603 - our own interpreter and CLI
                    [
                        sys.executable,
                        "-m",
                        "gateway.cli.main",
                        "serve",
                        "--config",
                        str(member.config_path),
                    ],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env={**os.environ, "PYTHONUNBUFFERED": "1"},
                )
        deadline = time.monotonic() + timeout
        for agency in agencies or list(self.nodes):
            self._wait_ready(self.nodes[agency], deadline)

    def _wait_ready(self, member: ClusterNode, deadline: float) -> None:
        with httpx.Client(verify=local_client_context(member.config.federation_ca), timeout=2) as c:
            while True:
                if member.process is not None and member.process.poll() is not None:
                    log = member.log_path.read_text() if member.log_path else ""
                    raise RuntimeError(f"node {member.agency} exited at start:\n{log}")
                try:
                    if c.get(f"{member.local_url}/api/v1/health").status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"node {member.agency} did not become ready")
                time.sleep(0.1)

    def stop(self, agency: str | None = None, *, kill: bool = False) -> None:
        for name, member in self.nodes.items():
            if agency is not None and name != agency:
                continue
            process = member.process
            if process is None:
                continue
            if process.poll() is None:
                process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            member.process = None

    def pause(self, agency: str) -> None:
        """Freeze a node (SIGSTOP): its sockets stay open, it never answers."""
        self._running(agency).send_signal(signal.SIGSTOP)

    def resume(self, agency: str) -> None:
        self._running(agency).send_signal(signal.SIGCONT)

    def _running(self, agency: str) -> subprocess.Popen[bytes]:
        process = self.nodes[agency].process
        if process is None:
            raise RuntimeError(f"node {agency} is not running")
        return process


def provision(
    root: Path,
    setups: Sequence[AgencySetup],
    *,
    federation_name: str = "cordon-demo",
    peer_deadline_seconds: float = 2.0,
    extra_config: dict[str, dict[str, Any]] | None = None,
) -> Cluster:
    """Create the federation, one node per agency (fresh ports), sign the manifest with every
    member, install it everywhere, and give each node an analyst token."""
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    federation = init_federation(root / "federation", federation_name)
    cluster = Cluster(root, federation)
    for setup in setups:
        folder = root / setup.agency
        config_path = init_node(
            folder,
            federation,
            NodeSpec(
                agency=setup.agency,
                display_name=setup.display_name,
                federation_port=free_port(),
                local_port=free_port(),
                database=setup.database,
                default_region=setup.default_region,
                contact_point=setup.contact_point,
                datasets=tuple(str(p.resolve()) for p in setup.datasets),
                peer_deadline_seconds=peer_deadline_seconds,
            ),
        )
        if setup.policy is not None:
            shutil.copyfile(setup.policy, folder / "policy.yaml")
        if extra_config and setup.agency in extra_config:
            doc = yaml.safe_load(config_path.read_text())
            doc.update(extra_config[setup.agency])
            config_path.write_text(yaml.safe_dump(doc, sort_keys=False))
        cluster.nodes[setup.agency] = ClusterNode(
            setup.agency, config_path, load_node_config(config_path)
        )
    for member in cluster.nodes.values():
        add_member(federation, member.config)
    for member in cluster.nodes.values():
        install_manifest(member.config_path, federation.manifest)
        engine = open_database(member.config)
        try:
            member.analyst_token = TokenStore(engine).issue("analyst", "analyst", utc_now()).token
        finally:
            engine.dispose()
    return cluster
