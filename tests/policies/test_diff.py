"""``diff_policies``: one readable line per change in meaning."""

from __future__ import annotations

from policies import diff_policies
from tests.policies.builders import base, load


def test_same_meaning_has_no_changes() -> None:
    document = base()
    changed = base()
    changed["rules"][0]["match"]["identifier_types"].reverse()
    changed["rules"][0]["match"]["notify_owner"] = True  # the default, written out
    assert diff_policies(load(document), load(changed)) == []


def test_field_changes_are_listed_per_rule() -> None:
    old, new = base(), base()
    new["rules"][0]["partners"] = ["police", "intel"]
    new["rules"][0]["match"]["identifier_types"] = ["container", "phone"]
    new["rules"][0]["match"]["quota_per_day"] = 2000
    new["rules"][1]["aggregate"]["datasets"]["seizures"]["rho_per_query"] = 0.1
    assert diff_policies(load(old), load(new)) == [
        "rule 'police-match': match.identifier_types: added phone; removed vessel",
        "rule 'police-match': match.quota_per_day: none -> 2000",
        "rule 'police-match': partners: added intel",
        "rule 'intel-aggregates': aggregate.datasets.seizures.rho_per_query: 0.05 -> 0.1",
    ]


def test_added_removed_and_reordered_rules() -> None:
    old, new = base(), base()
    removed = new["rules"].pop(0)
    new["rules"].append(dict(removed, id="police-match-2"))
    new["rules"].insert(0, new["rules"].pop())
    assert diff_policies(load(old), load(new)) == [
        "rule 'police-match' removed (it granted matching on [container, vessel])",
        "rule 'police-match-2' added at position 1: partners [police], purposes "
        "[organised-crime], grants matching on [container, vessel]",
    ]
    swapped = base()
    swapped["rules"].reverse()
    assert diff_policies(load(old), load(swapped)) == [
        "rule order changed: police-match, intel-aggregates -> intel-aggregates, police-match "
        "(the first rule that allows a request decides)"
    ]


def test_sections_outside_rules() -> None:
    old, new = base(), base()
    new["node"] = "customs-nl"
    new["purposes"]["smuggling"] = {"legal_basis": "Reg 515/97"}
    new["retention"] = {"shipments": {"max_age_days": 365}}
    new["follow_up"] = {"contact_point": "Desk", "answered_by": "officers"}
    old_follow = base()
    old_follow["follow_up"] = {"contact_point": "Desk", "answered_by": "officers"}
    assert diff_policies(load(old), load(new)) == [
        "node: customs -> customs-nl",
        "purposes.smuggling added: {legal_basis: Reg 515/97, description: }",
        "retention.shipments added: {max_age_days: 365}",
        "follow_up added: {contact_point: Desk, answered_by: officers, deadline_hours: 48}",
    ]
    shorter = base()
    shorter["follow_up"] = {
        "contact_point": "Desk",
        "answered_by": "officers",
        "deadline_hours": 24,
    }
    assert diff_policies(load(old_follow), load(shorter)) == ["follow_up.deadline_hours: 48 -> 24"]
