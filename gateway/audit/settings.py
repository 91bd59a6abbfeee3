"""The audit log's settings for a node: an optional ``audit.yaml`` beside ``node.yaml``.

    checkpoint_interval_seconds: 60   # a signed checkpoint this often, even when idle
    witness_interval_seconds: 60      # fetch, check and cosign partners' checkpoints
    witness: true                     # take part in witnessing at all
    retention_days: 365               # prune entries older than this (absent: keep all)

A missing file means the defaults. Loading fails loudly and names the key.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from gateway.errors import ConfigError

SETTINGS_FILE = "audit.yaml"


@dataclass(frozen=True)
class AuditSettings:
    checkpoint_interval_seconds: float = 60.0
    witness_interval_seconds: float = 60.0
    witness: bool = True
    retention_days: int | None = None


def _seconds(doc: dict[str, Any], key: str, where: Path, default: float) -> float:
    value = doc.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 86400:
        raise ConfigError(f"{where}: '{key}' must be a number of seconds in (0, 86400]")
    return float(value)


def load_audit_settings(folder: Path) -> AuditSettings:
    path = folder / SETTINGS_FILE
    if not path.exists():
        return AuditSettings()
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    known = {f for f in AuditSettings.__dataclass_fields__}
    unknown = sorted(set(doc) - known)
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {', '.join(map(str, unknown))}")
    witness = doc.get("witness", True)
    if not isinstance(witness, bool):
        raise ConfigError(f"{path}: 'witness' must be true or false")
    retention = doc.get("retention_days")
    if retention is not None and (
        isinstance(retention, bool) or not isinstance(retention, int) or retention < 1
    ):
        raise ConfigError(f"{path}: 'retention_days' must be a whole number of days >= 1")
    return AuditSettings(
        checkpoint_interval_seconds=_seconds(doc, "checkpoint_interval_seconds", path, 60.0),
        witness_interval_seconds=_seconds(doc, "witness_interval_seconds", path, 60.0),
        witness=witness,
        retention_days=retention,
    )
