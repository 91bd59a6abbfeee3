"""The node's policy as loaded from its file, checked against the manifest and the
vocabulary. Loading fails closed: a policy with any problem is never put in force."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from gateway.errors import ConfigError
from policies import Policy, PolicyError, check_policy, load_policy


class PolicySource:
    def __init__(
        self,
        path: Path,
        *,
        agency: str,
        partners: Collection[str],
        identifier_types: Collection[str],
    ) -> None:
        self._path = path
        self._agency = agency
        self._partners = tuple(partners)
        self._types = tuple(identifier_types)
        self._policy = self.load_text(self._read())

    def _read(self) -> str:
        try:
            return self._path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read policy {self._path}: {exc}") from exc

    def load_text(self, text: str) -> Policy:
        """Parse and check ``text``; PolicyError lists every problem with its line."""
        policy = load_policy(text, source=str(self._path))
        issues = check_policy(policy, partners=self._partners, identifier_types=self._types)
        if issues:
            raise PolicyError(issues, source=str(self._path))
        if policy.node != self._agency:
            raise ConfigError(
                f"{self._path}: policy is written for node '{policy.node}', "
                f"this node is '{self._agency}'"
            )
        return policy

    def current(self) -> Policy:
        return self._policy
