"""Financial and corporate identifiers: ``iban``, ``bic``, ``lei`` and ``company``."""

from __future__ import annotations

import re
from collections.abc import Callable
from importlib import import_module

from stdnum import numdb

from connectors.vocabulary._common import (
    InvalidIdentifier,
    check_length,
    compact_upper,
    mod97_ok,
    run_stdnum,
    split_country,
    stdnum_rule,
)
from connectors.vocabulary._countries import ALPHA2_TO_ALPHA3, TO_ALPHA2

# --- iban -----------------------------------------------------------------------------------
# The checks of ISO 13616 as stdnum.iban.validate(check_country=False) makes them (the IBAN
# registry's BBAN structure per country, ISO 7064 MOD 97-10), with the per-country patterns
# compiled once: stdnum rebuilds them on every call (~50 us per IBAN on an indexing path).
# National account check digits are left out on purpose: stdnum's also consult bank lists
# that change between releases, and validity must not depend on the library's data date.

_IBAN_SHAPE_RE = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}")
_BBAN_FIELD_RE = re.compile(r"([1-9][0-9]*)!([nac])")
_BBAN_CLASSES = {"n": "[0-9]", "a": "[A-Z]", "c": "[A-Z0-9]"}


def _bban_pattern(structure: str) -> re.Pattern[str]:
    fields = _BBAN_FIELD_RE.findall(structure)
    return re.compile("".join(f"{_BBAN_CLASSES[kind]}{{{count}}}" for count, kind in fields))


def _iban_registry() -> dict[str, re.Pattern[str]]:
    registry = numdb.get("iban")
    patterns: dict[str, re.Pattern[str]] = {}
    for code in ALPHA2_TO_ALPHA3:
        properties = registry.info(code)[0][1]
        if properties.get("bban"):
            patterns[code] = _bban_pattern(properties["bban"])
    return patterns


#: IBAN country -> compiled pattern of its BBAN (the part after the 4-character prefix).
IBAN_BBAN_PATTERNS: dict[str, re.Pattern[str]] = _iban_registry()


def iban(raw: str, default_region: str | None, country: str | None) -> str:
    check_length("iban", raw)
    compact = compact_upper("iban", raw)
    if _IBAN_SHAPE_RE.fullmatch(compact) is None:
        raise InvalidIdentifier("iban", "malformed: expected country, check digits and BBAN")
    if compact[2:4] in ("00", "01", "99"):
        # ISO 13616 check digits are 02-98; 00/01 would alias the 97/98 of the same account.
        raise InvalidIdentifier("iban", "check digits must be 02-98")
    pattern = IBAN_BBAN_PATTERNS.get(compact[:2])
    if pattern is None:
        raise InvalidIdentifier("iban", "country does not issue IBANs")
    if pattern.fullmatch(compact, 4) is None:
        raise InvalidIdentifier("iban", "BBAN does not match the country's format or length")
    if not mod97_ok(compact[4:] + compact[:4]):
        raise InvalidIdentifier("iban", "check digits do not match (mod-97)")
    return compact


# --- bic ------------------------------------------------------------------------------------
# ISO 9362, as stdnum.bic checks it: institution (4 letters), country, location, branch.

_BIC_RE = re.compile(r"[A-Z]{4}([A-Z]{2})[A-Z0-9]{2}(?:[A-Z0-9]{3})?")


def bic(raw: str, default_region: str | None, country: str | None) -> str:
    check_length("bic", raw)
    compact = compact_upper("bic", raw)
    if len(compact) not in (8, 11):
        raise InvalidIdentifier("bic", "must be 8 or 11 characters")
    match = _BIC_RE.fullmatch(compact)
    if match is None:
        raise InvalidIdentifier("bic", "malformed: expected 4 letters, country, location, branch")
    if match.group(1) not in ALPHA2_TO_ALPHA3:
        raise InvalidIdentifier("bic", "unknown country code")
    # Branch code XXX is the institution's primary office, which the 8-character BIC names.
    return compact[:8] if compact.endswith("XXX") else compact


# --- lei ------------------------------------------------------------------------------------
# ISO 17442: 18 characters and two ISO 7064 MOD 97-10 check digits (as stdnum.lei checks).

_LEI_RE = re.compile(r"[A-Z0-9]{18}[0-9]{2}")


def lei(raw: str, default_region: str | None, country: str | None) -> str:
    check_length("lei", raw)
    compact = compact_upper("lei", raw)
    if _LEI_RE.fullmatch(compact) is None:
        raise InvalidIdentifier("lei", "must be 18 letters A-Z or digits and 2 check digits")
    if not mod97_ok(compact):
        raise InvalidIdentifier("lei", "check digits do not match (mod-97)")
    return compact


# --- company --------------------------------------------------------------------------------

_GENERIC_COMPANY_RE = re.compile(r"(?=[A-Z]*[0-9])[A-Z0-9]{1,24}")
# Companies House: 8 characters, either all digits or a 2-letter prefix (SC, NI, OC, ...)
# and 6 digits. Numbers are often written without their leading zeros.
_GB_COMPANY_RE = re.compile(r"[0-9]{1,8}|[A-Z]{2}[0-9]{6}|[A-Z][0-9]{7}")
_NL_KVK_RE = re.compile(r"[0-9]{8}")


def _united_kingdom(number: str) -> str:
    compact = compact_upper("company", number)
    if _GB_COMPANY_RE.fullmatch(compact) is None:
        raise InvalidIdentifier("company", "not a Companies House number")
    return compact.zfill(8)


def _netherlands(number: str) -> str:
    compact = compact_upper("company", number)
    if _NL_KVK_RE.fullmatch(compact) is None:
        raise InvalidIdentifier("company", "a KvK number has 8 digits")
    return compact


def _austria(number: str) -> str:
    # Firmenbuchnummer: stdnum wants the check letter in lower case; ours is upper.
    validate: Callable[[str], str] = _AT_BUSINESS_ID.validate
    return run_stdnum("company", validate, compact_upper("company", number).lower()).upper()


def _germany(number: str) -> str:
    # The register number is only unique per court, so the court stays in the canonical
    # form, spelled as stdnum's list of courts spells it ("Aachen HRA 11223").
    validate: Callable[[str], str] = _DE_HANDELSREGISTER.validate
    return run_stdnum("company", validate, " ".join(number.split()))


_AT_BUSINESS_ID = import_module("stdnum.at.businessid")
_DE_HANDELSREGISTER = import_module("stdnum.de.handelsregisternummer")

# Country -> python-stdnum module for its company register number.
_COMPANY_MODULES: dict[str, str] = {
    "AU": "au.acn",
    "BE": "be.vat",
    "BR": "br.cnpj",
    "CH": "ch.uid",
    "CN": "cn.uscc",
    "DK": "dk.cvr",
    "EE": "ee.registrikood",
    "ES": "es.cif",
    "FI": "fi.ytunnus",
    "FR": "fr.siren",
    "KR": "kr.brn",
    "MA": "ma.ice",
    "MD": "md.idno",
    "NO": "no.orgnr",
    "RU": "ru.ogrn",
    "SE": "se.orgnr",
    "SG": "sg.uen",
    "SI": "si.maticna",
    "TW": "tw.ubn",
    "UA": "ua.edrpou",
}

_COMPANY_RULES: dict[str, Callable[[str], str]] = {
    **{code: stdnum_rule("company", name) for code, name in _COMPANY_MODULES.items()},
    "AT": _austria,
    "DE": _germany,
    "GB": _united_kingdom,
    "NL": _netherlands,
}


def company(raw: str, default_region: str | None, country: str | None) -> str:
    check_length("company", raw)
    code, number = split_country("company", raw, country, TO_ALPHA2)
    rule = _COMPANY_RULES.get(code)
    if rule is not None:
        return f"{code}:{rule(number)}"
    compact = compact_upper("company", number)
    if _GENERIC_COMPANY_RE.fullmatch(compact) is None:
        raise InvalidIdentifier(
            "company", "must be 1-24 letters A-Z and digits, with at least one digit"
        )
    return f"{code}:{compact}"
