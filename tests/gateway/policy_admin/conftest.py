"""A provisioned two-agency federation (customs answers, police asks) whose customs policy
file grants police phone matching; and the customs node built from it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.demo.cluster import AgencySetup, Cluster, provision
from gateway.node import Node, build_node

FIRST = """
policy: 1
node: customs
purposes:
  organised-crime: {legal_basis: "test basis"}
rules:
  - id: police-phones
    partners: [police]
    purposes: [organised-crime]
    match:
      identifier_types: [phone]
      subject_categories: [suspect]
      handling_codes: [H0, H1]
      quota_per_day: 100
"""

# Adds containers for police.
SECOND = FIRST.replace("identifier_types: [phone]", "identifier_types: [phone, container]")


@pytest.fixture
def cluster(tmp_path: Path) -> Cluster:
    policy = tmp_path / "customs-policy.yaml"
    policy.write_text(FIRST, encoding="utf-8")
    return provision(
        tmp_path / "fed",
        [AgencySetup("customs", "Customs", policy), AgencySetup("police", "Police")],
    )


@pytest.fixture
def config_path(cluster: Cluster) -> Path:
    return cluster.nodes["customs"].config_path


@pytest.fixture
def node(cluster: Cluster) -> Iterator[Node]:
    built = build_node(cluster.nodes["customs"].config)
    try:
        yield built
    finally:
        built.close()
