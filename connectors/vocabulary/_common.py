"""The vocabulary's two exceptions and the small helpers every identifier family shares.

Exceptions (both are ``ValueError``s, so a caller that only knows "bad input" still works)::

    ValueError
    ├── InvalidIdentifier       the value is not a valid identifier of its type
    └── UnknownIdentifierType   the type is not in the vocabulary

Neither ever carries the raw value: a refusal names the identifier type and the reason only,
because refusals are logged and counted in load reports.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from importlib import import_module
from typing import TypeVar

from stdnum.exceptions import (
    InvalidChecksum,
    InvalidComponent,
    InvalidFormat,
    InvalidLength,
    ValidationError,
)

from connectors.vocabulary._countries import TO_ALPHA2

_T = TypeVar("_T")

#: The longest raw value any type accepts; longer values are refused before any parsing.
MAX_RAW_LENGTH = 256


class InvalidIdentifier(ValueError):
    """A value that cannot be canonicalised as its identifier type.

    ``str(error)`` is ``"<id_type>: <reason>"`` and never contains the raw value.
    """

    def __init__(self, id_type: str, reason: str) -> None:
        super().__init__(id_type, reason)
        self.id_type = id_type
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.id_type}: {self.reason}"


class UnknownIdentifierType(ValueError):
    """An identifier type that vocabulary version 1 does not define."""

    def __init__(self, id_type: str, known: tuple[str, ...]) -> None:
        super().__init__(id_type, known)
        self.id_type = id_type
        self.known = known

    def __str__(self) -> str:
        return f"unknown identifier type {self.id_type!r}; known types: {', '.join(self.known)}"


#: A canonicaliser for one type: (raw, default_region, country) -> canonical form.
Canonicaliser = Callable[[str, str | None, str | None], str]

# Characters people put inside identifiers for readability, removed before validation:
# whitespace, '-' and its Unicode dash look-alikes, '.' and '/'.
SEPARATORS_RE = re.compile(r"[\s\-\u2010-\u2015\u2212./]+")
NON_ALNUM_RE = re.compile(r"[^A-Z0-9]+")

# ISO 7064 MOD 97-10 as used by IBAN and LEI: letters count as two digits, A=10 ... Z=35.
_MOD97_LETTERS = {ord(c): str(ord(c) - ord("A") + 10) for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}


def mod97_ok(alnum_upper: str) -> bool:
    """Whether an upper-case alphanumeric string passes the ISO 7064 MOD 97-10 check."""
    return int(alnum_upper.translate(_MOD97_LETTERS)) % 97 == 1


_STDNUM_REASONS: tuple[tuple[type[ValidationError], str], ...] = (
    (InvalidChecksum, "check digit does not match"),
    (InvalidLength, "wrong length"),
    (InvalidFormat, "malformed"),
    (InvalidComponent, "invalid component"),
)


def stdnum_reason(error: ValidationError) -> str:
    """Our own wording for a python-stdnum refusal (its messages are not part of our spec)."""
    for kind, reason in _STDNUM_REASONS:
        if isinstance(error, kind):
            return reason
    return "not valid"


def compact_upper(id_type: str, value: str, separators: re.Pattern[str] = SEPARATORS_RE) -> str:
    """Remove separators, refuse anything non-ASCII, upper-case.

    The ASCII check comes before upper-casing so that, e.g., "ß" cannot become "SS".
    """
    compact = separators.sub("", value)
    if not compact.isascii():
        raise InvalidIdentifier(id_type, "contains non-ASCII characters")
    return compact.upper()


def stdnum_rule(id_type: str, module_name: str) -> Callable[[str], str]:
    """A per-country rule: compact the number, validate it with a python-stdnum module, keep
    the upper-case letters and digits of what the module returns."""
    validate: Callable[[str], str] = import_module(f"stdnum.{module_name}").validate

    def canonical(number: str) -> str:
        valid = run_stdnum(id_type, validate, compact_upper(id_type, number))
        return NON_ALNUM_RE.sub("", valid.upper())

    return canonical


def check_length(id_type: str, raw: str, limit: int = MAX_RAW_LENGTH) -> None:
    if len(raw) > limit:
        raise InvalidIdentifier(id_type, f"longer than {limit} characters")


def country_from_option(id_type: str, country: str, table: dict[str, str]) -> str:
    """Resolve the ``country`` option (alpha-2 or alpha-3) through ``table``. The option is
    configuration, not data, so naming it in the error is safe."""
    code = table.get(country.strip().upper())
    if code is None:
        raise InvalidIdentifier(id_type, f"unknown country option {country!r}")
    return code


def split_country(
    id_type: str, raw: str, country: str | None, table: dict[str, str] = TO_ALPHA2
) -> tuple[str, str]:
    """Split ``"CC:rest"`` into (country, rest), or take the country from the option.

    ``table`` maps every accepted spelling to the canonical code. A country carried in the
    value and a country option must agree.
    """
    head, colon, rest = raw.partition(":")
    if colon:
        code = table.get(head.strip().upper())
        if code is None:
            raise InvalidIdentifier(id_type, "unknown country code before ':'")
        if country is not None and country_from_option(id_type, country, table) != code:
            raise InvalidIdentifier(id_type, "country in the value conflicts with country option")
        return code, rest
    if country is None:
        raise InvalidIdentifier(
            id_type, "no country: write it as 'CC:number' or pass the country option"
        )
    return country_from_option(id_type, country, table), raw


def run_stdnum(id_type: str, validate: Callable[[str], _T], value: str) -> _T:
    """Call a python-stdnum ``validate`` and turn any refusal into an InvalidIdentifier.

    Some stdnum validators raise plain ValueError/IndexError on very odd input instead of a
    ValidationError; those are refusals too, never crashes of the load.
    """
    try:
        return validate(value)
    except ValidationError as error:
        raise InvalidIdentifier(id_type, stdnum_reason(error)) from None
    except (ValueError, LookupError):
        raise InvalidIdentifier(id_type, "malformed") from None
