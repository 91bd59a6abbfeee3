"""What changed between two versions of a policy, one readable line per change (``cordon
policy diff``). Compares meaning, not text: reformatting or reordering a list is no change,
and a default written out equals the default left out."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from policies.model import Policy


def diff_policies(old: Policy, new: Policy) -> list[str]:
    """Readable changes from ``old`` to ``new``; empty when they mean the same."""
    before, after = old.canonical(), new.canonical()
    changes: list[str] = []
    for key in ("policy", "node", "purposes"):
        changes.extend(_changes(key, before.get(key), after.get(key)))
    changes.extend(_rule_changes(before["rules"], after["rules"]))
    for key in ("retention", "global_caps", "follow_up", "probing"):
        changes.extend(_changes(key, before.get(key), after.get(key)))
    return changes


def _keyed(rules: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    keyed: dict[str, dict[str, Any]] = {}
    for rule in rules:
        name, n = rule["id"], 2
        while name in keyed:  # only a policy built in code can repeat an id
            name, n = f"{rule['id']} (#{n})", n + 1
        keyed[name] = rule
    return keyed


def _rule_changes(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> Iterator[str]:
    before, after = _keyed(old), _keyed(new)
    for name, rule in before.items():
        if name not in after:
            yield f"rule {name!r} removed (it granted {_grants(rule)})"
    for position, (name, rule) in enumerate(after.items(), start=1):
        if name not in before:
            yield (
                f"rule {name!r} added at position {position}: partners "
                f"{_show(rule['partners'])}, purposes {_show(rule['purposes'])}, "
                f"grants {_grants(rule)}"
            )
    for name, rule in after.items():
        if name in before:
            for change in _changes("", before[name], rule):
                yield f"rule {name!r}: {change}"
    kept_before = [name for name in before if name in after]
    kept_after = [name for name in after if name in before]
    if kept_before != kept_after:
        yield (
            f"rule order changed: {', '.join(kept_before)} -> {', '.join(kept_after)} "
            "(the first rule that allows a request decides)"
        )


def _grants(rule: dict[str, Any]) -> str:
    grants = []
    if rule.get("match") is not None:
        grants.append(f"matching on {_show(rule['match']['identifier_types'])}")
    if rule.get("aggregate") is not None:
        grants.append(f"aggregates on {_show(sorted(rule['aggregate']['datasets']))}")
    return " and ".join(grants) or "nothing"


def _changes(label: str, old: Any, new: Any) -> Iterator[str]:
    if old == new:
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(old.keys() | new.keys()):
            sub = f"{label}.{key}" if label else key
            if key not in old:
                yield f"{sub} added: {_show(new[key])}"
            elif key not in new:
                yield f"{sub} removed (was {_show(old[key])})"
            else:
                yield from _changes(sub, old[key], new[key])
    elif old is None and isinstance(new, dict):
        yield f"{label} added: {_show(new)}"
    elif new is None and isinstance(old, dict):
        yield f"{label} removed (was {_show(old)})"
    elif isinstance(old, list) and isinstance(new, list) and _is_set(old) and _is_set(new):
        added = [item for item in new if item not in old]
        removed = [item for item in old if item not in new]
        parts = [f"added {_items(added)}"] if added else []
        parts += [f"removed {_items(removed)}"] if removed else []
        yield f"{label}: {'; '.join(parts)}"
    else:
        yield f"{label}: {_show(old)} -> {_show(new)}"


def _is_set(values: list[Any]) -> bool:
    return all(isinstance(v, str) for v in values) or all(isinstance(v, list) for v in values)


def _items(values: list[Any]) -> str:
    return ", ".join(_show(v) for v in values)


def _show(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_show(v)}" for k, v in value.items()) + "}"
    return str(value)
