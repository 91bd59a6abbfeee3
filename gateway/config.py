"""The node configuration file (``node.yaml``): who this node is, where it listens, where its
keys, manifest, policy and dataset mappings live. Loading fails loudly and names the key.

Relative paths are resolved against the folder that holds the configuration file.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from gateway.errors import ConfigError
from gateway.users.oidc import OidcSettings, parse_oidc_settings

AGENCY_ID = re.compile(r"^[a-z][a-z0-9-]{1,62}$")
CONFIG_VERSION = 1


@dataclass(frozen=True)
class Listener:
    host: str
    port: int


@dataclass(frozen=True)
class NodeConfig:
    path: Path
    agency: str
    display_name: str
    database_url: str
    federation_listener: Listener
    local_listener: Listener
    public_url: str
    tls_certificate: Path
    tls_key: Path
    federation_ca: Path
    signing_key: Path
    manifest: Path
    authority_public_key: str
    match_secret_file: Path
    match_epochs: tuple[int, ...]
    policy: Path
    datasets: tuple[Path, ...]
    peer_deadline_seconds: float
    default_region: str | None
    contact_point: str
    aggregates: tuple[Path, ...] = ()
    oidc: OidcSettings | None = None

    @property
    def folder(self) -> Path:
        return self.path.parent

    @property
    def query_epoch(self) -> int:
        return max(self.match_epochs)

    def read_match_secret(self) -> bytes:
        try:
            text = self.match_secret_file.read_text(encoding="ascii").strip()
        except OSError as exc:
            raise ConfigError(
                f"match secret file {self.match_secret_file} unreadable: {exc}"
            ) from exc
        try:
            secret = base64.b64decode(text, validate=True)
        except ValueError as exc:
            raise ConfigError(f"match secret file {self.match_secret_file} is not base64") from exc
        if len(secret) < 32:
            raise ConfigError(f"match secret in {self.match_secret_file} is shorter than 32 bytes")
        return secret


_KNOWN_KEYS = {
    "node",
    "agency",
    "display_name",
    "database",
    "listen",
    "public_url",
    "tls",
    "signing_key",
    "manifest",
    "authority_public_key",
    "match",
    "policy",
    "datasets",
    "aggregates",
    "oidc",
    "peer_deadline_seconds",
    "default_region",
    "contact_point",
}


def _require(doc: dict[str, Any], key: str, where: str, kind: type) -> Any:
    if key not in doc:
        raise ConfigError(f"{where}: missing required key '{key}'")
    value = doc[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise ConfigError(f"{where}: '{key}' must be a {kind.__name__}, got {type(value).__name__}")
    return value


def _listener(doc: dict[str, Any], name: str, where: str) -> Listener:
    section = _require(doc, name, f"{where} listen", dict)
    host = _require(section, "host", f"{where} listen.{name}", str)
    port = _require(section, "port", f"{where} listen.{name}", int)
    if not 0 <= port <= 65535:
        raise ConfigError(f"{where}: listen.{name}.port must be 0-65535, got {port}")
    return Listener(host, port)


def load_node_config(path: Path) -> NodeConfig:
    """Read and validate ``node.yaml``."""
    where = str(path)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read node configuration {path}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: not valid YAML: {exc}") from exc
    if not isinstance(doc, dict):
        raise ConfigError(f"{where}: expected a mapping at the top level")
    unknown = sorted(set(doc) - _KNOWN_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}")
    if doc.get("node") != CONFIG_VERSION:
        raise ConfigError(f"{where}: 'node' must be {CONFIG_VERSION} (the config format version)")
    folder = path.resolve().parent

    def rel(value: str) -> Path:
        p = Path(value)
        return p if p.is_absolute() else folder / p

    agency = _require(doc, "agency", where, str)
    if not AGENCY_ID.match(agency):
        raise ConfigError(f"{where}: agency '{agency}' must match {AGENCY_ID.pattern}")
    database = _require(doc, "database", where, str)
    if database.startswith("sqlite:///") and not database.startswith("sqlite:////"):
        database = f"sqlite:///{rel(database.removeprefix('sqlite:///'))}"
    listen = _require(doc, "listen", where, dict)
    tls = _require(doc, "tls", where, dict)
    match = _require(doc, "match", where, dict)
    epochs = _require(match, "epochs", f"{where} match", list)
    if not epochs or not all(isinstance(e, int) and e >= 0 for e in epochs):
        raise ConfigError(f"{where}: match.epochs must be a non-empty list of whole numbers")
    deadline = doc.get("peer_deadline_seconds", 2.0)
    if not isinstance(deadline, int | float) or not 0 < deadline <= 60:
        raise ConfigError(f"{where}: peer_deadline_seconds must be a number in (0, 60]")
    datasets = doc.get("datasets", [])
    if not isinstance(datasets, list) or not all(isinstance(d, str) for d in datasets):
        raise ConfigError(f"{where}: datasets must be a list of mapping file paths")
    aggregates = doc.get("aggregates", [])
    if not isinstance(aggregates, list) or not all(isinstance(d, str) for d in aggregates):
        raise ConfigError(f"{where}: aggregates must be a list of aggregate declaration files")
    region = doc.get("default_region")
    if region is not None and (
        not isinstance(region, str) or not re.fullmatch(r"[A-Z]{2}", region)
    ):
        raise ConfigError(f"{where}: default_region must be an ISO 3166 alpha-2 code like 'NL'")
    return NodeConfig(
        path=path.resolve(),
        agency=agency,
        display_name=_require(doc, "display_name", where, str),
        database_url=database,
        federation_listener=_listener(listen, "federation", where),
        local_listener=_listener(listen, "local", where),
        public_url=_require(doc, "public_url", where, str).rstrip("/"),
        tls_certificate=rel(_require(tls, "certificate", f"{where} tls", str)),
        tls_key=rel(_require(tls, "key", f"{where} tls", str)),
        federation_ca=rel(_require(tls, "federation_ca", f"{where} tls", str)),
        signing_key=rel(_require(doc, "signing_key", where, str)),
        manifest=rel(_require(doc, "manifest", where, str)),
        authority_public_key=_require(doc, "authority_public_key", where, str),
        match_secret_file=rel(_require(match, "secret_file", f"{where} match", str)),
        match_epochs=tuple(sorted(set(epochs))),
        policy=rel(_require(doc, "policy", where, str)),
        datasets=tuple(rel(d) for d in datasets),
        peer_deadline_seconds=float(deadline),
        default_region=region,
        contact_point=str(doc.get("contact_point", "")),
        aggregates=tuple(rel(d) for d in aggregates),
        oidc=parse_oidc_settings(doc.get("oidc"), where, folder),
    )
