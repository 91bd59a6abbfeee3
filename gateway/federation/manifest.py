"""The federation manifest: the members (agency id, display name, base URL, Ed25519 public
key), signed by the federation authority and verified by every node when it starts."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from crypto.errors import CryptoError
from crypto.keys import public_key_from_text
from crypto.signed import sign_document, verify_document
from gateway.config import AGENCY_ID
from gateway.errors import ManifestError

MANIFEST_CONTEXT = "federation-manifest"
MANIFEST_VERSION = 1


@dataclass(frozen=True)
class Member:
    agency: str
    display_name: str
    url: str
    public_key: Ed25519PublicKey
    public_key_text: str

    def as_payload(self) -> dict[str, Any]:
        return {
            "agency": self.agency,
            "display_name": self.display_name,
            "url": self.url,
            "public_key": self.public_key_text,
        }


@dataclass(frozen=True)
class Manifest:
    federation: str
    serial: int
    members: tuple[Member, ...]

    def member(self, agency: str) -> Member | None:
        for m in self.members:
            if m.agency == agency:
                return m
        return None

    def peers_of(self, agency: str) -> tuple[Member, ...]:
        return tuple(m for m in self.members if m.agency != agency)

    def as_payload(self) -> dict[str, Any]:
        return {
            "manifest": MANIFEST_VERSION,
            "federation": self.federation,
            "serial": self.serial,
            "members": [m.as_payload() for m in sorted(self.members, key=lambda m: m.agency)],
        }


def _member(raw: Any, index: int) -> Member:
    where = f"members[{index}]"
    if not isinstance(raw, dict):
        raise ManifestError(f"{where} must be an object")
    for key in ("agency", "display_name", "url", "public_key"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise ManifestError(f"{where}.{key} is missing or not a string")
    if not AGENCY_ID.match(raw["agency"]):
        raise ManifestError(f"{where}.agency is not a valid agency id")
    if not raw["url"].startswith("https://"):
        raise ManifestError(f"{where}.url must be an https:// URL")
    try:
        public_key = public_key_from_text(raw["public_key"])
    except (CryptoError, ValueError) as exc:
        raise ManifestError(f"{where}.public_key is not an Ed25519 public key") from exc
    return Member(
        raw["agency"], raw["display_name"], raw["url"].rstrip("/"), public_key, raw["public_key"]
    )


def parse_manifest(payload: dict[str, Any]) -> Manifest:
    if payload.get("manifest") != MANIFEST_VERSION:
        raise ManifestError(f"manifest version must be {MANIFEST_VERSION}")
    members_raw = payload.get("members")
    if not isinstance(members_raw, list):
        raise ManifestError("manifest members must be a list")
    members = tuple(_member(raw, i) for i, raw in enumerate(members_raw))
    agencies = [m.agency for m in members]
    if len(set(agencies)) != len(agencies):
        raise ManifestError("manifest lists an agency more than once")
    federation = payload.get("federation")
    serial = payload.get("serial")
    if not isinstance(federation, str) or not isinstance(serial, int):
        raise ManifestError("manifest needs a federation name and an integer serial")
    return Manifest(federation, serial, members)


def sign_manifest(manifest: Manifest, authority_key: Ed25519PrivateKey) -> dict[str, Any]:
    return sign_document(manifest.as_payload(), authority_key, context=MANIFEST_CONTEXT)


def verify_manifest(document: dict[str, Any], authority_public_key: Ed25519PublicKey) -> Manifest:
    """Check the authority's signature and parse; any failure is a ManifestError."""
    try:
        payload = verify_document(document, authority_public_key, context=MANIFEST_CONTEXT)
    except CryptoError as exc:
        raise ManifestError("manifest signature does not verify with the authority key") from exc
    return parse_manifest(payload)


def load_manifest(path: Path, authority_public_key: Ed25519PublicKey) -> Manifest:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ManifestError(f"cannot read manifest {path}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise ManifestError(f"manifest {path} is not JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise ManifestError(f"manifest {path} must be a JSON object")
    return verify_manifest(document, authority_public_key)


def write_manifest(path: Path, document: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(path)
