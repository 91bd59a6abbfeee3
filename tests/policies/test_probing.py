"""The ``probing`` section: read with its defaults, every key checked with a plain message,
and part of the version hash and of the diff."""

from __future__ import annotations

import pytest

from policies import Probing, diff_policies
from tests.policies.builders import base, dump, issues_of, load


def test_probing_defaults_alert_only() -> None:
    probing = load(base()).probing
    assert probing == Probing(window_minutes=60, min_misses=500, miss_ratio=0.95, block_minutes=0)


def test_probing_keys_are_read() -> None:
    document = base()
    document["probing"] = {
        "window_minutes": 10,
        "min_misses": 50,
        "miss_ratio": 1,
        "block_minutes": 30,
    }
    assert load(document).probing == Probing(
        window_minutes=10, min_misses=50, miss_ratio=1.0, block_minutes=30
    )


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("window_minutes", 0, "probing.window_minutes must be a whole number of 1 or more"),
        ("min_misses", "many", "probing.min_misses must be a whole number of 1 or more"),
        ("block_minutes", -5, "probing.block_minutes must be a whole number of 0 or more"),
        (
            "miss_ratio",
            1.5,
            "probing.miss_ratio is a share of the identifiers checked: more "
            "than 0 and at most 1 (0.95 means 95 %), got 1.5",
        ),
        ("miss_ratio", 0, "more than 0 and at most 1"),
        ("block", 5, "unknown key 'block' at probing; allowed keys: window_minutes"),
    ],
)
def test_a_bad_probing_value_is_named_with_its_line(key: str, value: object, message: str) -> None:
    document = base()
    document["probing"] = {key: value}
    [issue] = issues_of(dump(document))
    assert issue.path == f"probing.{key}"
    assert issue.line is not None
    assert message in issue.message


def test_probing_changes_the_version_hash_and_shows_in_the_diff() -> None:
    document = base()
    document["probing"] = {"block_minutes": 30}
    before, after = load(base()), load(document)
    assert before.version_hash != after.version_hash
    assert diff_policies(before, after) == ["probing.block_minutes: 0 -> 30"]
