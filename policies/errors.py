"""What goes wrong with a policy document, said in words a data-protection officer can act on.

There is one exception, and evaluation never raises it (a request the policy cannot decide is
denied instead)::

    PolicyError          the policy text cannot be used; .issues says every reason, with lines

``PolicyIssue`` is also what :func:`policies.check_policy` returns: the same shape whether a
problem is found while reading the text or while checking it against the federation.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass

PathPart = str | int
_SIMPLE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True, slots=True)
class PolicyIssue:
    """One problem in a policy: where it is (``line`` in the YAML text, 1-based, ``None`` when
    the policy was not read from text) and ``path`` (``rules[1].match.quota_per_day``), and a
    plain-words ``message``."""

    line: int | None
    path: str
    message: str

    def format(self, source: str = "<policy>") -> str:
        """``<source>:<line>: <path>: <message>``; the line is left out when it is unknown."""
        where = f"{source}:{self.line}" if self.line is not None else source
        return f"{where}: {self.path or '(document)'}: {self.message}"

    def __str__(self) -> str:
        return self.format()


def sort_issues(issues: Iterable[PolicyIssue]) -> list[PolicyIssue]:
    """Issues in reading order: by line (unknown lines last), then path; duplicates dropped."""
    unique = dict.fromkeys(issues)
    return sorted(unique, key=lambda i: (i.line is None, i.line or 0, i.path, i.message))


def format_path(parts: tuple[PathPart, ...] | list[PathPart]) -> str:
    """``("rules", 0, "match")`` -> ``rules[0].match``; odd keys are quoted: ``purposes['a b']``."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _SIMPLE_KEY.match(part):
            text += f".{part}" if text else part
        else:
            text += f"[{part!r}]"
    return text


def sub_path(path: str, key: PathPart) -> str:
    """``path`` extended by one key or list index, formatted as :func:`format_path` does."""
    tail = format_path((key,))
    if not path or tail.startswith("["):
        return path + tail
    return f"{path}.{tail}"


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'quota_per_day'?)`` for a likely typo of one of ``choices``, else ``""``."""
    options = list(choices)
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if not close and len(word) >= 3:
        close = [c for c in options if c.startswith(word) or word.startswith(c)][:1]
    return f" (did you mean {close[0]!r}?)" if close else ""


class PolicyError(Exception):
    """The policy text cannot be used. ``issues`` lists every reason found, in line order;
    ``str()`` renders them one per line as ``<source>:<line>: <path>: <message>``."""

    def __init__(self, issues: Iterable[PolicyIssue], *, source: str = "<policy>") -> None:
        self.issues: list[PolicyIssue] = sort_issues(issues)
        self.source = source
        super().__init__(self.__str__())

    def __str__(self) -> str:
        return "\n".join(issue.format(self.source) for issue in self.issues)
