"""Turn policy text into a :class:`Policy`, or into a :class:`PolicyError` that says, line by
line and in plain words, what to fix."""

from __future__ import annotations

import datetime as dt
import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from policies.checks import consistency_issues
from policies.errors import PathPart, PolicyError, PolicyIssue, did_you_mean, format_path
from policies.model import Policy
from policies.yaml_lines import LocatedData, read_yaml


def load_policy(text: str, *, source: str = "<policy>") -> Policy:
    """Read a policy from YAML ``text``. ``source`` (a file name) is used in messages.

    Raises :class:`PolicyError` listing every problem: YAML syntax, unknown or missing keys,
    values of the wrong kind, and contradictions inside the policy (duplicate rule ids,
    undeclared purposes, budgets that cannot hold, empty lists). Checks that need to know the
    federation are :func:`policies.check_policy`'s.
    """
    try:
        located = read_yaml(text)
    except PolicyError as exc:
        raise PolicyError(exc.issues, source=source) from None
    issues = list(located.issues)
    if located.data is None and issues:
        raise PolicyError(issues, source=source)
    try:
        policy = Policy.from_data(located.data, source=source, lines=_lines(located))
    except ValidationError as exc:
        # Where the YAML reader already said what is wrong, the model's complaint is noise.
        reported = {issue.path for issue in issues}
        for error in exc.errors():
            issue = _issue_from_error(error, located)
            if not any(
                issue.path == p or issue.path.startswith((p + ".", p + "[")) for p in reported
            ):
                issues.append(issue)
        raise PolicyError(issues, source=source) from None
    issues.extend(consistency_issues(policy))
    if issues:
        raise PolicyError(issues, source=source)
    return policy


def _lines(located: LocatedData) -> dict[str, int]:
    return {**located.value_lines, **located.key_lines}


def _issue_from_error(error: ErrorDetails, located: LocatedData) -> PolicyIssue:
    loc = tuple(part for part in error["loc"] if part != "[key]")
    kind = error["type"]
    if kind == "extra_forbidden":
        parent, key = loc[:-1], str(loc[-1])
        where = format_path(parent) or "the top level"
        allowed = _field_names(parent)
        message = f"unknown key {key!r} at {where}; allowed keys: {', '.join(allowed)}"
        return PolicyIssue(
            _line(located.key_lines, loc), format_path(loc), message + did_you_mean(key, allowed)
        )
    if kind == "missing":
        parent, key = loc[:-1], str(loc[-1])
        where = format_path(parent) or "the top level"
        info = _field_info(loc)
        about = ""
        if info is not None and info.description:
            about = f" ({info.description[0].lower()}{info.description[1:].rstrip('.')})"
        message = f"missing required key {key!r} at {where}{about}"
        return PolicyIssue(_line(located.key_lines, parent), format_path(loc), message)
    path = format_path(loc)
    if "[key]" in error["loc"]:
        message = (
            f"names under {path or 'the top level'} must be text, got {_shown(error['input'])}"
        )
    else:
        expected = _describe(_annotation_at(loc)) or error["msg"].lower()
        if kind == "finite_number":
            expected = "a finite number (like 0.05)"
        message = f"{path or 'the policy'} must be {expected}, got {_shown(error['input'])}"
    return PolicyIssue(_line(located.value_lines, loc), path, message)


def _line(lines: dict[str, int], loc: tuple[PathPart, ...]) -> int | None:
    for end in range(len(loc), -1, -1):
        line = lines.get(format_path(loc[:end]))
        if line is not None:
            return line
    return None


def _shown(value: Any) -> str:
    if value is None:
        return "nothing (the value is empty)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return f"the date {value.isoformat()} (put it in quotes if it is meant as text)"
    if isinstance(value, dict):
        return "a mapping of keys"
    if isinstance(value, tuple | list):
        return "a list"
    return repr(value)


# --- what a field expects, in words, found by walking the model along an error location ---


def _strip_optional(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        rest = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(rest) == 1:
            return rest[0]
    return annotation


def _model_at(loc: tuple[PathPart, ...]) -> type[BaseModel] | None:
    annotation = _strip_optional(_annotation_at(loc))
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _field_names(loc: tuple[PathPart, ...]) -> list[str]:
    model = _model_at(loc)
    return list(model.model_fields) if model is not None else []


def _field_info(loc: tuple[PathPart, ...]) -> FieldInfo | None:
    model = _model_at(loc[:-1])
    return model.model_fields.get(str(loc[-1])) if model is not None else None


def _annotation_at(loc: tuple[PathPart, ...]) -> Any:
    current: Any = Policy
    for part in loc:
        current, _ = _constraints(current)
        origin = get_origin(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            info = current.model_fields.get(str(part))
            if info is None:
                return None
            current = info.annotation
            if info.metadata:
                current = Annotated[current, *info.metadata]
        elif origin is dict:
            current = get_args(current)[1]
        elif origin is tuple:
            current = get_args(current)[0]
        else:
            return None
    return current


def _constraints(annotation: Any) -> tuple[Any, dict[str, Any]]:
    """Unwrap ``Annotated[...]`` (and ``Optional``), collecting ``ge`` and ``pattern``."""
    found: dict[str, Any] = {}
    annotation = _strip_optional(annotation)
    while hasattr(annotation, "__metadata__"):
        for item in annotation.__metadata__:
            nested = item.metadata if isinstance(item, FieldInfo) else [item]
            for constraint in nested:
                for name in ("ge", "pattern"):
                    if getattr(constraint, name, None) is not None:
                        found[name] = getattr(constraint, name)
        annotation = _strip_optional(annotation.__origin__)
    return annotation, found


def _describe(annotation: Any) -> str | None:
    annotation, found = _constraints(annotation)
    origin = get_origin(annotation)
    if annotation is bool:
        return "true or false"
    if annotation is int:
        return f"a whole number of {found['ge']} or more" if "ge" in found else "a whole number"
    if annotation is float:
        return "a number (like 0.05)"
    if annotation is str:
        if "pattern" in found:
            return "a short name of letters, digits, '.', '_' or '-', with no spaces"
        return "text"
    if origin is Literal:
        return "one of: " + ", ".join(str(value) for value in get_args(annotation))
    if origin is tuple:
        item = _strip_optional(get_args(annotation)[0])
        if get_origin(item) is tuple:
            return "a list of lists of names, like [[port], [port, month]]"
        if get_origin(item) is Literal:
            return "a list chosen from: " + ", ".join(str(v) for v in get_args(item))
        return "a list of names, like [a, b]"
    if origin is dict:
        value = get_args(annotation)[1]
        keys = (
            ", ".join(value.model_fields)
            if isinstance(value, type) and issubclass(value, BaseModel)
            else ""
        )
        return f"a mapping of names to settings ({keys})" if keys else "a mapping of names"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "a mapping with the keys " + ", ".join(annotation.model_fields)
    return None
