"""The JSON Schema shipped beside the package matches the model, and accepts the examples."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from policies import policy_schema
from policies.schema import SCHEMA_FILE, schema_text

EXAMPLES = sorted((Path(__file__).parents[2] / "policies" / "examples").glob("*.yaml"))


def test_schema_file_is_up_to_date() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_text(), (
        "policies/policy.schema.json is stale: run `python -m policies write-schema`"
    )
    assert json.loads(SCHEMA_FILE.read_text(encoding="utf-8")) == policy_schema()


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(policy_schema())


def test_schema_is_a_fresh_copy_each_time() -> None:
    schema = policy_schema()
    schema["title"] = "changed"
    assert policy_schema()["title"] != "changed"


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.stem)
def test_example_policy_is_valid_against_the_schema(example: Path) -> None:
    document = yaml.safe_load(example.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(policy_schema()).validate(document)


def test_schema_refuses_unknown_keys_and_empty_partner_lists() -> None:
    validator = jsonschema.Draft202012Validator(policy_schema())
    rule = {"id": "r", "partners": [], "purposes": ["p"], "quota": 1}
    errors = list(validator.iter_errors({"policy": 1, "node": "customs", "rules": [rule]}))
    messages = " ".join(error.message for error in errors)
    assert "'quota' was unexpected" in messages
    assert "[] should be non-empty" in messages
