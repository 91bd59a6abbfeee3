"""The JSON Schema of the policy language, generated from the model so the two cannot drift.

Editors use ``policy.schema.json`` (shipped beside this module) to help a DPO write a policy;
regenerate it after changing the model with ``python -m policies write-schema``.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

from policies.model import Policy

SCHEMA_ID = "https://cordon.example/schemas/policy-1.json"
SCHEMA_FILE = Path(__file__).with_name("policy.schema.json")


@cache
def _schema() -> dict[str, Any]:
    schema = Policy.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
        "title": "Cordon access policy (language version 1)",
    }


def policy_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a policy document; a fresh copy on every call."""
    return copy.deepcopy(_schema())


def schema_text() -> str:
    """The schema as the text of ``policy.schema.json``."""
    return json.dumps(policy_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_schema_file(path: Path = SCHEMA_FILE) -> Path:
    """Write :func:`schema_text` to ``path`` (a developer tool, not used at run time)."""
    path.write_text(schema_text(), encoding="utf-8")
    return path
