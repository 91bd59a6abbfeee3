"""The ``person`` identifier: a name and a date of birth, folded so that the usual variations
in how agencies write a name (case, diacritics, order, titles, punctuation) do not matter."""

from __future__ import annotations

import re
from datetime import date

from unidecode import unidecode

from connectors.vocabulary._common import InvalidIdentifier, check_length

#: Titles dropped wherever they occur in a name (compared after folding). Single letters are
#: deliberately absent: "M" is far more often an initial than an abbreviated "Monsieur".
HONORIFICS: frozenset[str] = frozenset(
    {
        "dame", "dhr", "dott", "dr", "frau", "herr", "madame", "mademoiselle", "mevr",
        "miss", "mister", "mlle", "mme", "monsieur", "mr", "mrs", "ms", "mx", "prof", "rev",
        "senor", "senora", "senorita", "sig", "sigra", "signor", "signora", "signorina",
        "sir", "sr", "sra", "srta",
    }
)  # fmt: skip

EARLIEST_BIRTH_YEAR = 1880

_APOSTROPHES_RE = re.compile("['`\u00b4\u2018\u2019\u02bc]")
_NOT_LETTERS_RE = re.compile(r"[^a-z0-9]+")
_DIGIT_RE = re.compile(r"[0-9]")
_ISO_DATE_RE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_COMPACT_DATE_RE = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})")
_DAY_FIRST_DATE_RE = re.compile(r"([0-9]{1,2})([./-])([0-9]{1,2})\2([0-9]{4})")


def canonical_name(name: str) -> str:
    check_length("person", name)
    text = (name if name.isascii() else unidecode(name)).lower()
    # "O'Brien" and "OBrien" are the same name; "Jean-Pierre" and "Jean Pierre" too.
    text = _NOT_LETTERS_RE.sub(" ", _APOSTROPHES_RE.sub("", text))
    if _DIGIT_RE.search(text) is not None:
        raise InvalidIdentifier("person", "name contains digits")
    tokens = sorted(token for token in text.split() if token not in HONORIFICS)
    if not tokens:
        raise InvalidIdentifier("person", "name is empty")
    return " ".join(tokens)


def canonical_date_of_birth(value: str) -> str:
    text = value.strip()
    if len(text) > 10:
        raise InvalidIdentifier("person", "unrecognised date of birth format")
    match = _ISO_DATE_RE.fullmatch(text) or _COMPACT_DATE_RE.fullmatch(text)
    if match is not None:
        year, month, day = match.group(1, 2, 3)
    else:
        match = _DAY_FIRST_DATE_RE.fullmatch(text)
        if match is None:
            raise InvalidIdentifier(
                "person",
                "unrecognised date of birth format "
                "(use YYYY-MM-DD, YYYYMMDD, DD.MM.YYYY, DD/MM/YYYY or DD-MM-YYYY)",
            )
        day, month, year = match.group(1, 3, 4)
    try:
        born = date(int(year), int(month), int(day))
    except ValueError:
        raise InvalidIdentifier("person", "impossible date of birth") from None
    if born > date.today():
        raise InvalidIdentifier("person", "date of birth is in the future")
    if born.year < EARLIEST_BIRTH_YEAR:
        raise InvalidIdentifier("person", f"date of birth before {EARLIEST_BIRTH_YEAR}")
    return born.isoformat()


def canonicalise_person(name: str, date_of_birth: str) -> str:
    """Canonical ``person`` value, ``"<sorted name tokens>|<YYYY-MM-DD>"``."""
    return f"{canonical_name(name)}|{canonical_date_of_birth(date_of_birth)}"


def person(raw: str, default_region: str | None, country: str | None) -> str:
    check_length("person", raw, 2 * 256)
    name, bar, date_of_birth = raw.rpartition("|")
    if not bar:
        raise InvalidIdentifier("person", "expected 'NAME|DATE_OF_BIRTH'")
    return canonicalise_person(name, date_of_birth)
