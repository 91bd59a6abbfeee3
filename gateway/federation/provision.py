"""Creating a federation (authority key, TLS CA, match secret, empty signed manifest), a node
(Ed25519 node key, TLS certificate from the federation CA, node.yaml, a deny-all policy),
and adding members to the manifest. Files holding secrets are written 0600."""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from crypto.keys import (
    generate_signing_key,
    load_private_key,
    private_key_to_pem,
    public_key_from_text,
    public_key_to_text,
)
from crypto.pki import (
    cert_to_pem,
    create_ca,
    ec_key_to_pem,
    issue_node_certificate,
    load_cert_pem,
    load_ec_key_pem,
)
from gateway.config import AGENCY_ID, NodeConfig, load_node_config
from gateway.errors import ConfigError
from gateway.federation.manifest import (
    Manifest,
    Member,
    load_manifest,
    sign_manifest,
    write_manifest,
)

AUTHORITY_KEY = "authority.key"
AUTHORITY_PUB = "authority.pub"
CA_CERT = "federation-ca.crt"
CA_KEY = "federation-ca.key"
MATCH_SECRET = "match-secret"  # noqa: S105 - a file name, not a secret
MANIFEST = "manifest.json"


def _write_secret(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


@dataclass(frozen=True)
class FederationFiles:
    folder: Path

    @property
    def authority_key(self) -> Path:
        return self.folder / AUTHORITY_KEY

    @property
    def authority_public(self) -> str:
        return (self.folder / AUTHORITY_PUB).read_text(encoding="ascii").strip()

    @property
    def ca_cert(self) -> Path:
        return self.folder / CA_CERT

    @property
    def ca_key(self) -> Path:
        return self.folder / CA_KEY

    @property
    def match_secret(self) -> Path:
        return self.folder / MATCH_SECRET

    @property
    def manifest(self) -> Path:
        return self.folder / MANIFEST

    def check(self) -> None:
        for path in (
            self.authority_key,
            self.ca_cert,
            self.ca_key,
            self.match_secret,
            self.manifest,
        ):
            if not path.exists():
                raise ConfigError(
                    f"{self.folder} is not a federation folder: {path.name} is missing"
                )


def init_federation(folder: Path, name: str) -> FederationFiles:
    if (folder / MANIFEST).exists():
        raise ConfigError(f"{folder} already holds a federation (manifest.json exists)")
    folder.mkdir(parents=True, exist_ok=True)
    authority = generate_signing_key()
    _write_secret(folder / AUTHORITY_KEY, private_key_to_pem(authority))
    (folder / AUTHORITY_PUB).write_text(public_key_to_text(authority.public_key()) + "\n")
    ca_key, ca_cert = create_ca(name)
    _write_secret(folder / CA_KEY, ec_key_to_pem(ca_key))
    (folder / CA_CERT).write_bytes(cert_to_pem(ca_cert))
    _write_secret(folder / MATCH_SECRET, base64.b64encode(secrets.token_bytes(32)) + b"\n")
    write_manifest(folder / MANIFEST, sign_manifest(Manifest(name, 1, ()), authority))
    return FederationFiles(folder)


@dataclass(frozen=True)
class NodeSpec:
    agency: str
    display_name: str
    host: str = "127.0.0.1"
    federation_port: int = 8443
    local_port: int = 8080
    database: str | None = None
    default_region: str | None = None
    contact_point: str = ""
    datasets: tuple[str, ...] = ()
    peer_deadline_seconds: float = 2.0
    tls_names: tuple[str, ...] = ()
    public_url: str | None = None


def init_node(folder: Path, federation: FederationFiles, spec: NodeSpec) -> Path:
    """Create a node folder; returns the path of its node.yaml."""
    federation.check()
    if not AGENCY_ID.match(spec.agency):
        raise ConfigError(f"agency '{spec.agency}' must match {AGENCY_ID.pattern}")
    config_path = folder / "node.yaml"
    if config_path.exists():
        raise ConfigError(f"{config_path} exists already")
    folder.mkdir(parents=True, exist_ok=True)
    node_key = generate_signing_key()
    _write_secret(folder / "keys" / "node.key", private_key_to_pem(node_key))
    (folder / "keys" / "node.pub").write_text(public_key_to_text(node_key.public_key()) + "\n")
    ca_key = load_ec_key_pem(federation.ca_key.read_bytes())
    ca_cert = load_cert_pem(federation.ca_cert.read_bytes())
    hosts = tuple(
        h
        for h in dict.fromkeys((*spec.tls_names, spec.host, "localhost", "127.0.0.1"))
        if h not in ("0.0.0.0", "::")  # noqa: S104 - wildcard binds are not names
    )
    tls_key, tls_cert = issue_node_certificate(ca_key, ca_cert, spec.agency, hosts=hosts)
    _write_secret(folder / "tls" / "node.key", ec_key_to_pem(tls_key))
    (folder / "tls" / "node.crt").write_bytes(cert_to_pem(tls_cert))
    shutil.copyfile(federation.ca_cert, folder / "tls" / CA_CERT)
    _write_secret(folder / "keys" / MATCH_SECRET, federation.match_secret.read_bytes())
    shutil.copyfile(federation.manifest, folder / MANIFEST)
    policy = folder / "policy.yaml"
    if not policy.exists():
        policy.write_text(
            "# Deny by default: until a rule grants something, partners get nothing.\n"
            f"policy: 1\nnode: {spec.agency}\nrules: []\n",
            encoding="utf-8",
        )
    doc: dict[str, Any] = {
        "node": 1,
        "agency": spec.agency,
        "display_name": spec.display_name,
        "database": spec.database or f"sqlite:///data/{spec.agency}.db",
        "listen": {
            "federation": {"host": spec.host, "port": spec.federation_port},
            "local": {"host": spec.host, "port": spec.local_port},
        },
        "public_url": spec.public_url or f"https://{spec.host}:{spec.federation_port}",
        "tls": {
            "certificate": "tls/node.crt",
            "key": "tls/node.key",
            "federation_ca": f"tls/{CA_CERT}",
        },
        "signing_key": "keys/node.key",
        "manifest": MANIFEST,
        "authority_public_key": federation.authority_public,
        "match": {"secret_file": f"keys/{MATCH_SECRET}", "epochs": [1]},
        "policy": "policy.yaml",
        "datasets": list(spec.datasets),
        "peer_deadline_seconds": spec.peer_deadline_seconds,
        "contact_point": spec.contact_point,
    }
    if spec.default_region:
        doc["default_region"] = spec.default_region
    config_path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return config_path


def add_member(federation: FederationFiles, node_config: NodeConfig) -> Manifest:
    """Add (or update) the node in the manifest, bump the serial and re-sign."""
    federation.check()
    authority = load_private_key(federation.authority_key.read_bytes())
    manifest = load_manifest(federation.manifest, authority.public_key())
    node_key = load_private_key(node_config.signing_key.read_bytes())
    member = Member(
        agency=node_config.agency,
        display_name=node_config.display_name,
        url=node_config.public_url,
        public_key=node_key.public_key(),
        public_key_text=public_key_to_text(node_key.public_key()),
    )
    others = tuple(m for m in manifest.members if m.agency != member.agency)
    updated = Manifest(manifest.federation, manifest.serial + 1, (*others, member))
    write_manifest(federation.manifest, sign_manifest(updated, authority))
    return updated


def install_manifest(node_config_path: Path, manifest_path: Path) -> Manifest:
    """Verify a manifest with the node's authority key and install it in the node folder."""
    config = load_node_config(node_config_path)
    manifest = load_manifest(manifest_path, public_key_from_text(config.authority_public_key))
    current: int | None = None
    if config.manifest.exists():
        current = json.loads(config.manifest.read_text())["payload"].get("serial")
    if current is not None and manifest.serial < current:
        raise ConfigError(
            f"refusing to install manifest serial {manifest.serial}: node has serial {current}"
        )
    shutil.copyfile(manifest_path, config.manifest)
    return manifest
