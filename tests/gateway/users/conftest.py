"""A provisioned node (customs, with police as its partner) and API tokens for every role."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.app import create_local_app
from gateway.demo.cluster import AgencySetup, Cluster, provision
from gateway.node import Node, build_node, utc_now
from gateway.users.store import ROLES
from tests.gateway.users.asgi_client import AppClient


@pytest.fixture
def cluster(tmp_path: Path) -> Cluster:
    return provision(
        tmp_path / "fed", [AgencySetup("customs", "Customs"), AgencySetup("police", "Police")]
    )


@pytest.fixture
def node(cluster: Cluster) -> Iterator[Node]:
    built = build_node(cluster.nodes["customs"].config)
    try:
        yield built
    finally:
        built.close()


@pytest.fixture
def tokens(node: Node) -> dict[str, str]:
    """One live API token per role, for a user named after the role."""
    return {role: node.tokens.issue(f"{role}-user", role, utc_now()).token for role in ROLES}


@pytest.fixture
def client(node: Node) -> AppClient:
    return AppClient(create_local_app(node))
