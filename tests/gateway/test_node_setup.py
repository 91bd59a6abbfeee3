"""Creating a federation and its nodes, and the checks a node makes before it listens."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from crypto.keys import public_key_from_text
from gateway.cli.main import app
from gateway.config import load_node_config
from gateway.demo.cluster import AgencySetup, Cluster, provision
from gateway.errors import ConfigError, ManifestError
from gateway.federation.manifest import load_manifest
from gateway.node import build_node


@pytest.fixture
def two_nodes(tmp_path: Path) -> Cluster:
    return provision(
        tmp_path / "fed", [AgencySetup("customs", "Customs"), AgencySetup("police", "Police")]
    )


def test_every_node_verifies_the_signed_manifest_and_finds_itself(two_nodes: Cluster) -> None:
    for member in two_nodes.nodes.values():
        node = build_node(member.config)
        try:
            assert {m.agency for m in node.manifest.members} == {"customs", "police"}
            assert node.manifest.serial == 3  # empty manifest, then one re-signing per member
        finally:
            node.close()


def test_a_tampered_manifest_stops_the_node_from_starting(two_nodes: Cluster) -> None:
    member = two_nodes.nodes["customs"]
    document = json.loads(member.config.manifest.read_text())
    document["payload"]["members"][0]["url"] = "https://127.0.0.1:1"
    member.config.manifest.write_text(json.dumps(document))
    with pytest.raises(ManifestError, match="signature"):
        build_node(member.config)


def test_a_manifest_signed_by_another_authority_is_refused(
    two_nodes: Cluster, tmp_path: Path
) -> None:
    other = provision(tmp_path / "other", [AgencySetup("intel", "Intel")])
    member = two_nodes.nodes["customs"]
    with pytest.raises(ManifestError):
        load_manifest(
            other.federation.manifest, public_key_from_text(member.config.authority_public_key)
        )


def test_a_node_whose_key_differs_from_the_manifest_is_refused(two_nodes: Cluster) -> None:
    customs, police = two_nodes.nodes["customs"], two_nodes.nodes["police"]
    customs.config.signing_key.write_bytes(police.config.signing_key.read_bytes())
    with pytest.raises(ManifestError, match="another public key"):
        build_node(customs.config)


def test_an_unknown_key_in_node_yaml_is_named(two_nodes: Cluster) -> None:
    path = two_nodes.nodes["customs"].config_path
    doc = yaml.safe_load(path.read_text())
    doc["verify_tls"] = False
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(ConfigError, match=r"unknown key.*verify_tls"):
        load_node_config(path)


def test_a_missing_required_key_is_named(two_nodes: Cluster) -> None:
    path = two_nodes.nodes["customs"].config_path
    doc = yaml.safe_load(path.read_text())
    del doc["tls"]["federation_ca"]
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(ConfigError, match="federation_ca"):
        load_node_config(path)


def test_the_cli_sets_up_a_federation_end_to_end(tmp_path: Path) -> None:
    runner = CliRunner()
    fed, node = tmp_path / "fed", tmp_path / "customs"
    result = runner.invoke(app, ["federation", "init", str(fed), "--name", "test-fed"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        app,
        [
            "node",
            "init",
            str(node),
            "--federation",
            str(fed),
            "--agency",
            "customs",
            "--display-name",
            "Customs",
            "--federation-port",
            "18443",
            "--local-port",
            "18080",
        ],
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["federation", "add-member", str(fed), str(node / "node.yaml")])
    assert result.exit_code == 0, result.output
    assert "manifest serial 2: customs" in result.output
    result = runner.invoke(
        app, ["node", "install-manifest", str(node / "node.yaml"), str(fed / "manifest.json")]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        app, ["user", "add", "ana", "--role", "analyst", "--config", str(node / "node.yaml")]
    )
    assert result.exit_code == 0, result.output
    assert "cordon_" in result.output
    result = runner.invoke(
        app, ["user", "add", "bob", "--role", "wizard", "--config", str(node / "node.yaml")]
    )
    assert result.exit_code == 2
    assert "role must be one of" in result.output


def test_a_second_federation_init_in_the_same_folder_is_refused(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["federation", "init", str(tmp_path)]).exit_code == 0
    again = runner.invoke(app, ["federation", "init", str(tmp_path)])
    assert again.exit_code == 2
    assert "already holds a federation" in again.output
