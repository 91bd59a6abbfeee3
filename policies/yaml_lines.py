"""Read YAML text into plain data while remembering the line of every key and value, so that
each problem in a policy can point at the line that causes it.

Only the plain YAML types are accepted (mappings, lists, text, numbers, true/false, dates):
no custom tags, no merge keys, no duplicate keys, and a bound on how far aliases may expand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from policies.errors import PathPart, PolicyError, PolicyIssue, format_path

# Aliases can make a small text expand enormously ("billion laughs"); a policy is small.
MAX_NODES = 100_000
MAX_DEPTH = 32
_TOO_DEEP = "the policy is nested too deeply (lists or mappings inside each other)"

_SCALAR_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("null", "bool", "int", "float", "str", "timestamp")
)
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"


@dataclass
class LocatedData:
    """Plain data read from YAML, with lines (1-based) by path: ``key_lines`` holds the line of
    each mapping key (or list item), ``value_lines`` the line where each value starts."""

    data: Any
    key_lines: dict[str, int] = field(default_factory=dict)
    value_lines: dict[str, int] = field(default_factory=dict)
    issues: list[PolicyIssue] = field(default_factory=list)


def read_yaml(text: str) -> LocatedData:
    """Compose ``text`` into data with lines. Raises :class:`PolicyError` when the text is
    not YAML at all; other problems are returned in ``issues``."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except RecursionError:
        raise PolicyError([PolicyIssue(None, "", _TOO_DEEP)]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise PolicyError([PolicyIssue(line, "", _syntax_message(exc))]) from None
    except yaml.YAMLError as exc:
        raise PolicyError([PolicyIssue(None, "", f"the text is not valid YAML: {exc}")]) from None
    located = LocatedData(data=None)
    if root is None:
        located.issues.append(PolicyIssue(1, "", "the policy is empty"))
        return located
    located.key_lines[""] = located.value_lines[""] = root.start_mark.line + 1
    reader = _Reader(located)
    located.data = reader.read(root, ())
    return located


def _syntax_message(exc: yaml.MarkedYAMLError) -> str:
    problem = exc.problem or "unreadable YAML"
    hint = ""
    if "\\t" in problem or "\t" in problem:
        hint = " (indent with spaces, not tabs)"
    elif "mapping values are not allowed" in problem:
        hint = " (check the indentation, and put text containing ': ' in quotes)"
    elif "expected <block end>" in problem or "did not find expected" in problem:
        hint = " (check the indentation and that every list item starts with '- ')"
    context = f" {exc.context}" if exc.context else ""
    return f"the text is not valid YAML: {problem}{context}{hint}"


class _Reader:
    def __init__(self, located: LocatedData) -> None:
        self.located = located
        self.nodes = 0
        self.constructor = SafeConstructor()
        self.active: set[int] = set()

    def issue(self, node: Node, parts: tuple[PathPart, ...], message: str) -> None:
        self.located.issues.append(
            PolicyIssue(node.start_mark.line + 1, format_path(parts), message)
        )

    def read(self, node: Node, parts: tuple[PathPart, ...]) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            if self.nodes == MAX_NODES + 1:
                self.issue(node, parts, "the policy expands to too much data (check its aliases)")
            return None
        if len(parts) > MAX_DEPTH:
            self.issue(node, parts[:MAX_DEPTH], _TOO_DEEP)
            return None
        if id(node) in self.active:
            self.issue(node, parts, "an alias refers to itself; write the value out instead")
            return None
        self.active.add(id(node))
        try:
            if isinstance(node, MappingNode):
                return self.read_mapping(node, parts)
            if isinstance(node, SequenceNode):
                return self.read_sequence(node, parts)
            return self.read_scalar(node, parts)
        finally:
            self.active.discard(id(node))

    def read_mapping(self, node: MappingNode, parts: tuple[PathPart, ...]) -> dict[str, Any]:
        if node.tag != _MAP_TAG:
            self.issue(node, parts, f"the YAML tag {node.tag!r} is not supported")
        result: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if key_node.tag == _MERGE_TAG:
                self.issue(
                    key_node, parts, "YAML merge keys ('<<') are not supported; write the keys out"
                )
                continue
            key = self.read(key_node, parts) if isinstance(key_node, ScalarNode) else None
            if not isinstance(key, str):
                shown = key_node.value if isinstance(key_node, ScalarNode) else "a list or mapping"
                self.issue(
                    key_node,
                    parts,
                    f"keys must be text, got {shown!r} at "
                    f"{format_path(parts) or 'the top level'}; put it in quotes",
                )
                continue
            if key in result:
                self.issue(
                    key_node,
                    (*parts, key),
                    f"duplicate key {key!r} at "
                    f"{format_path(parts) or 'the top level'} (first at line "
                    f"{first_line[key]}); each key may appear once",
                )
                continue
            first_line[key] = line
            path = format_path((*parts, key))
            self.located.key_lines[path] = line
            self.located.value_lines[path] = value_node.start_mark.line + 1
            result[key] = self.read(value_node, (*parts, key))
        return result

    def read_sequence(self, node: SequenceNode, parts: tuple[PathPart, ...]) -> tuple[Any, ...]:
        if node.tag != _SEQ_TAG:
            self.issue(node, parts, f"the YAML tag {node.tag!r} is not supported")
        items = []
        for index, item in enumerate(node.value):
            path = format_path((*parts, index))
            self.located.key_lines[path] = self.located.value_lines[path] = item.start_mark.line + 1
            items.append(self.read(item, (*parts, index)))
        return tuple(items)

    def read_scalar(self, node: Node, parts: tuple[PathPart, ...]) -> Any:
        if node.tag not in _SCALAR_TAGS:
            self.issue(node, parts, f"the YAML tag {node.tag!r} is not supported")
            return None
        try:
            return self.constructor.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError) as exc:
            self.issue(node, parts, f"cannot read the value {node.value!r}: {exc}")
            return None
