"""The DPO's policy API: read, validate, explain, diff, dry-run, apply, history, rollback, and
partner blocks; changes are made in the name of the authenticated user."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.app import create_local_app
from gateway.node import Node, utc_now
from policies import load_policy
from tests.gateway.policy_admin.conftest import FIRST, SECOND
from tests.gateway.users.asgi_client import AppClient


class Api:
    def __init__(self, node: Node, role: str) -> None:
        self.client = AppClient(create_local_app(node))
        token = node.tokens.issue(f"{role}.anna", role, utc_now()).token
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path: str) -> tuple[int, Any]:
        response = self.client.get(path, headers=self.headers)
        return response.status_code, response.json()

    def post(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        response = self.client.post(path, json=body, headers=self.headers)
        return response.status_code, response.json()


@pytest.fixture
def dpo(node: Node) -> Api:
    return Api(node, "dpo")


def test_read_the_version_in_force_with_its_text(node: Node) -> None:
    status, body = Api(node, "auditor").get("/api/v1/policy")
    assert status == 200
    assert (body["number"], body["label"], body["action"]) == (1, "v1", "initial")
    assert body["text"] == FIRST
    assert body["version_hash"] == load_policy(FIRST).version_hash


def test_validate_returns_every_issue_with_line_and_path(dpo: Api) -> None:
    status, body = dpo.post(
        "/api/v1/policy/validate", {"text": FIRST.replace("[police]", "[police, fiu]")}
    )
    assert status == 200
    assert body["valid"] is False
    assert body["issues"][0]["line"] == 8
    assert body["issues"][0]["path"] == "rules[0].partners[1]"
    assert "not a member of the federation" in body["issues"][0]["message"]
    status, body = dpo.post("/api/v1/policy/validate", {"text": SECOND})
    assert (status, body["valid"]) == (200, True)
    assert body["version_hash"] == load_policy(SECOND).version_hash


def test_diff_against_the_version_in_force(dpo: Api) -> None:
    status, body = dpo.post("/api/v1/policy/diff", {"text": SECOND})
    assert status == 200
    assert body["against"]["number"] == 1
    assert body["changes"] == ["rule 'police-phones': match.identifier_types: added container"]


def test_explain_says_which_rule_decides(node: Node) -> None:
    status, body = Api(node, "auditor").post(
        "/api/v1/policy/explain",
        {"partner": "police", "purpose": "organised-crime", "identifier_types": ["container"]},
    )
    assert status == 200
    assert body["allowed"] is False
    assert body["rules"][0]["rule_id"] == "police-phones"
    assert "identifier type 'container' not granted" in body["rules"][0]["reasons"][0]
    status, body = Api(node, "auditor").post(
        "/api/v1/policy/explain",
        {
            "partner": "police",
            "purpose": "organised-crime",
            "identifier_types": ["container"],
            "text": SECOND,
        },
    )
    assert (status, body["allowed"], body["rule_id"]) == (200, True, "police-phones")


def test_apply_is_in_the_name_of_the_user_and_history_lists_it(dpo: Api, node: Node) -> None:
    status, body = dpo.post("/api/v1/policy/apply", {"text": SECOND, "reason": "containers"})
    assert status == 200, body
    assert (body["number"], body["author"], body["reason"]) == (2, "dpo.anna", "containers")
    status, history = dpo.get("/api/v1/policy/history")
    assert [v["number"] for v in history] == [2, 1]
    status, body = dpo.get("/api/v1/policy/versions/v1")
    assert (status, body["text"]) == (200, FIRST)
    assert node.policy.current().version_hash == load_policy(SECOND).version_hash


def test_an_invalid_apply_is_refused_with_its_lines(dpo: Api) -> None:
    status, body = dpo.post(
        "/api/v1/policy/apply", {"text": FIRST.replace("rules:", "rulez:"), "reason": "x"}
    )
    assert status == 400
    assert body["error"] == "invalid_policy"
    assert "proposed policy:6: rulez: unknown key 'rulez'" in body["detail"]


def test_rollback_and_unknown_versions(dpo: Api) -> None:
    dpo.post("/api/v1/policy/apply", {"text": SECOND, "reason": "containers"})
    status, body = dpo.post("/api/v1/policy/rollback", {"version": "1", "reason": "undo"})
    assert (status, body["number"], body["restores"]) == (200, 3, 1)
    status, body = dpo.get("/api/v1/policy/versions/v12")
    assert status == 404
    assert body == {
        "error": "not_found",
        "detail": "there is no policy version 'v12'; versions run from v1 to v3 "
        "(see 'cordon policy history')",
    }


def test_dry_run_reports_figures(dpo: Api) -> None:
    status, body = dpo.post("/api/v1/policy/dry-run", {"text": SECOND, "days": 7})
    assert status == 200, body
    assert (body["replayed"], body["changed"], body["groups"]) == (0, 0, [])
    assert body["proposed_version"] == load_policy(SECOND).version_hash


def test_blocks_are_listed_and_lifting_a_missing_one_is_not_found(dpo: Api) -> None:
    assert dpo.get("/api/v1/policy/blocks") == (200, [])
    status, body = dpo.post("/api/v1/policy/blocks/police/lift", {"reason": "ok"})
    assert status == 404
    assert body["detail"] == "partner 'police' is not blocked"
