"""Contact identifiers: ``phone`` (E.164 via phonenumbers) and ``email``."""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers

from connectors.vocabulary._common import InvalidIdentifier, check_length
from connectors.vocabulary._countries import TO_ALPHA2

# --- phone ----------------------------------------------------------------------------------

# Digits, one leading '+', and the punctuation people write numbers with. Letters (vanity
# numbers, "ext. 12", "x12") are refused rather than guessed at.
_PHONE_CHARS_RE = re.compile(r"\+?[0-9\s\-.()/]+")
_PHONE_PUNCTUATION_RE = re.compile(r"[\s\-.()/]+")
_PHONE_REGIONS: frozenset[str] = frozenset(phonenumbers.SUPPORTED_REGIONS)
_E164 = phonenumbers.PhoneNumberFormat.E164
# Parsing and validating with phonenumbers costs ~80 us; numbers repeat a lot in agency data,
# so the (compacted number, region) -> E.164 answer is memoised. The cache lives only in this
# node's process memory, where the raw values are being read anyway.
_PHONE_CACHE_SIZE = 1 << 15


def _region(default_region: str | None) -> str | None:
    if default_region is None:
        return None
    region = default_region.strip().upper()
    region = TO_ALPHA2.get(region, region)
    if region not in _PHONE_REGIONS:
        raise InvalidIdentifier("phone", f"unknown default region {default_region!r}")
    return region


@lru_cache(maxsize=_PHONE_CACHE_SIZE)
def _e164(compact: str, region: str | None) -> str:
    try:
        number = phonenumbers.parse(compact, region)
    except phonenumbers.NumberParseException:
        raise InvalidIdentifier("phone", "not a phone number") from None
    if not phonenumbers.is_possible_number(number):
        raise InvalidIdentifier("phone", "not a possible number (wrong length for its country)")
    if not phonenumbers.is_valid_number(number):
        raise InvalidIdentifier("phone", "not a valid number (unassigned range)")
    return str(phonenumbers.format_number(number, _E164))


def phone(raw: str, default_region: str | None, country: str | None) -> str:
    check_length("phone", raw, 64)
    value = raw.strip()
    if _PHONE_CHARS_RE.fullmatch(value) is None:
        raise InvalidIdentifier("phone", "only digits, a leading '+' and separators are allowed")
    compact = _PHONE_PUNCTUATION_RE.sub("", value)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if compact.startswith("+"):
        return _e164(compact, None)
    region = _region(default_region)
    if region is None:
        raise InvalidIdentifier("phone", "national number needs a default region")
    return _e164(compact, region)


# --- email ----------------------------------------------------------------------------------

_ATOM = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LOCAL_RE = re.compile(rf"{_ATOM}(?:\.{_ATOM})*")
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
# At least two labels; the top-level label is alphabetic or an IDNA A-label (xn--...).
_DOMAIN_RE = re.compile(rf"(?:{_LABEL}\.)+(?:[a-z]{{2,63}}|xn--[a-z0-9-]{{1,59}})")


def email(raw: str, default_region: str | None, country: str | None) -> str:
    check_length("email", raw)
    value = raw.strip()
    if not value.isascii():
        raise InvalidIdentifier(
            "email", "non-ASCII address (give an internationalised domain in its xn-- form)"
        )
    value = value.lower()
    local, at, domain = value.partition("@")
    if not at or "@" in domain:
        raise InvalidIdentifier("email", "must contain exactly one '@'")
    if len(local) > 64 or _LOCAL_RE.fullmatch(local) is None:
        raise InvalidIdentifier("email", "malformed local part")
    if len(domain) > 253 or _DOMAIN_RE.fullmatch(domain) is None:
        raise InvalidIdentifier("email", "malformed domain")
    if len(value) > 254:
        raise InvalidIdentifier("email", "longer than 254 characters")
    return value
