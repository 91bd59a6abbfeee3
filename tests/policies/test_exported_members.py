"""The public surface of ``policies``: sorted, complete, and free of other Cordon packages."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import policies

PACKAGE = Path(policies.__file__).parent


def _isort_key(name: str) -> tuple[int, str]:
    # ruff's RUF022 order: CONSTANTS, then Classes, then functions.
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


def test_all_is_sorted_and_exports_exist() -> None:
    assert policies.__all__ == sorted(policies.__all__, key=_isort_key)
    for name in policies.__all__:
        assert hasattr(policies, name), name


def test_public_names_are_all_exported() -> None:
    public = {
        name
        for name, value in vars(policies).items()
        if not name.startswith("_") and getattr(value, "__module__", "").startswith("policies.")
    }
    assert public <= set(policies.__all__)


def test_required_api_is_exported() -> None:
    required = {
        "Policy", "PolicyError", "PolicyIssue", "load_policy", "check_policy", "MatchRequest",
        "AggregateRequest", "PolicyDecision", "MatchObligations", "AggregateObligations",
        "decide_match", "decide_aggregate", "decide_match_per_type", "explain", "Explanation",
        "RuleOutcome", "policy_schema", "diff_policies",
    }  # fmt: skip
    assert required <= set(policies.__all__)


def test_no_module_imports_gateway_connectors_or_crypto() -> None:
    forbidden = {"gateway", "connectors", "crypto"}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            assert not {name.split(".")[0] for name in names} & forbidden, path


def test_importing_policies_loads_no_other_cordon_package() -> None:
    code = (
        "import sys, policies; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'gateway', 'connectors', 'crypto', 'fastapi', 'sqlalchemy', 'httpx'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
