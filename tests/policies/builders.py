"""Policies to test against: a small base document as data, and ways to load variations."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from policies import Policy, PolicyError, PolicyIssue, load_policy

MEMBERS = ("customs", "police", "intel")
VOCABULARY = (
    "passport", "national_id", "phone", "email", "iban", "bic",
    "company", "lei", "container", "vessel", "vehicle", "person",
)  # fmt: skip

_BASE: dict[str, Any] = {
    "policy": 1,
    "node": "customs",
    "purposes": {
        "organised-crime": {"legal_basis": "Directive (EU) 2023/977"},
        "strategic-analysis": {"legal_basis": "Regulation (EC) No 515/97, art. 43"},
    },
    "rules": [
        {
            "id": "police-match",
            "partners": ["police"],
            "purposes": ["organised-crime"],
            "match": {
                "identifier_types": ["container", "vessel"],
                "subject_categories": ["suspect"],
                "handling_codes": ["H0"],
            },
        },
        {
            "id": "intel-aggregates",
            "partners": ["intel"],
            "purposes": ["strategic-analysis"],
            "aggregate": {
                "datasets": {
                    "seizures": {
                        "columns": ["port", "month", "quantity_kg"],
                        "group_by": [["port"], ["port", "month"]],
                        "rho_per_query": 0.05,
                        "rho_per_period": 1.0,
                    }
                }
            },
        },
    ],
}


def base() -> dict[str, Any]:
    """A fresh copy of the base policy document, to modify in a test."""
    return copy.deepcopy(_BASE)


def dump(document: dict[str, Any]) -> str:
    return yaml.safe_dump(document, sort_keys=False)


def load(document: dict[str, Any]) -> Policy:
    """Load ``document`` through the YAML loader, as a DPO's file would be."""
    return load_policy(dump(document))


def issues_of(text: str, *, source: str = "<policy>") -> list[PolicyIssue]:
    """The issues ``load_policy`` refuses ``text`` with (fails the test if it accepts it)."""
    with pytest.raises(PolicyError) as caught:
        load_policy(text, source=source)
    return caught.value.issues


def only_issue(text: str) -> PolicyIssue:
    issues = issues_of(text)
    assert len(issues) == 1, issues
    return issues[0]
