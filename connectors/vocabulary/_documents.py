"""Identity documents and personal numbers: ``passport`` and ``national_id``."""

from __future__ import annotations

import re
from collections.abc import Callable

from stdnum.es import dni as es_dni
from stdnum.es import nie as es_nie
from stdnum.fi import hetu as fi_hetu
from stdnum.se import personnummer as se_personnummer

from connectors.vocabulary._common import (
    InvalidIdentifier,
    check_length,
    compact_upper,
    run_stdnum,
    split_country,
    stdnum_rule,
)
from connectors.vocabulary._countries import TO_ALPHA2, TO_ALPHA3

# --- passport -------------------------------------------------------------------------------

# ICAO 9303 writes Germany as "D" in machine-readable zones; accept it as an alias of DEU.
_PASSPORT_COUNTRIES: dict[str, str] = {**TO_ALPHA3, "D": "DEU"}
_PASSPORT_FILLERS_RE = re.compile(r"[\s\-\u2010-\u2015\u2212./<]+")
_PASSPORT_NUMBER_RE = re.compile(r"[A-Z0-9]{1,9}")
# "NLD X1234567": a leading alpha-3 code followed by whitespace also carries the country.
_PASSPORT_SPACED_RE = re.compile(r"([A-Za-z]{3})\s+(\S.*)", re.DOTALL)


def passport(raw: str, default_region: str | None, country: str | None) -> str:
    check_length("passport", raw)
    value = raw.strip()
    if ":" not in value:
        spaced = _PASSPORT_SPACED_RE.fullmatch(value)
        if spaced is not None and spaced.group(1).upper() in TO_ALPHA3:
            value = f"{spaced.group(1)}:{spaced.group(2)}"
    code, number = split_country("passport", value, country, _PASSPORT_COUNTRIES)
    number = compact_upper("passport", number, _PASSPORT_FILLERS_RE)
    if _PASSPORT_NUMBER_RE.fullmatch(number) is None:
        if not number:
            raise InvalidIdentifier("passport", "empty document number")
        if len(number) > 9:
            raise InvalidIdentifier("passport", "document number longer than 9 characters")
        raise InvalidIdentifier("passport", "document number must be letters A-Z and digits")
    return f"{code}:{number}"


# --- national_id ----------------------------------------------------------------------------

_GENERIC_NATIONAL_ID_RE = re.compile(r"(?=[A-Z]*[0-9])[A-Z0-9]{4,20}")
_WHITESPACE_RE = re.compile(r"\s+")


def _signed(number: str) -> str:
    # Finnish and Swedish numbers carry meaning in their '-'/'+' sign: only whitespace goes.
    return compact_upper("national_id", number, _WHITESPACE_RE)


def _sweden(number: str) -> str:
    # Always the 12-digit YYYYMMDDNNNN form: the 10-digit form leaves the century to the
    # separator ('-' or '+') and to the date it was written, so it is not a stable key.
    valid = run_stdnum("national_id", se_personnummer.validate, _signed(number))
    if len(valid) == 13:
        return valid[:8] + valid[9:]
    born = run_stdnum("national_id", se_personnummer.get_birth_date, valid)
    return f"{born.year:04d}{valid[2:6]}{valid[7:]}"


def _finland(number: str) -> str:
    # The century sign stays: it is part of the number and tells 1952 from 2052 apart.
    return run_stdnum("national_id", fi_hetu.validate, _signed(number))


def _spain(number: str) -> str:
    # A resident's number is a DNI (citizens) or an NIE (foreigners, starting X, Y or Z).
    compact = compact_upper("national_id", number)
    validate: Callable[[str], str] = (
        es_nie.validate if compact[:1] in ("X", "Y", "Z") else es_dni.validate
    )
    return run_stdnum("national_id", validate, compact)


# Country -> python-stdnum module that validates its personal identity number.
_NATIONAL_ID_MODULES: dict[str, str] = {
    "AR": "ar.dni",
    "BE": "be.nn",
    "BG": "bg.egn",
    "BR": "br.cpf",
    "CA": "ca.sin",
    "CH": "ch.ssn",
    "CL": "cl.rut",
    "CN": "cn.ric",
    "CZ": "cz.rc",
    "DK": "dk.cpr",
    "EC": "ec.ci",
    "EE": "ee.ik",
    "FR": "fr.nir",
    "HR": "hr.oib",
    "ID": "id.nik",
    "IE": "ie.pps",
    "IL": "il.idnr",
    "IN": "in_.aadhaar",
    "IS": "is_.kennitala",
    "IT": "it.codicefiscale",
    "JP": "jp.in_",
    "KR": "kr.rrn",
    "LT": "lt.asmens",
    "MX": "mx.curp",
    "MY": "my.nric",
    "NL": "nl.bsn",
    "NO": "no.fodselsnummer",
    "PK": "pk.cnic",
    "PL": "pl.pesel",
    "PT": "pt.cc",
    "RO": "ro.cnp",
    "SI": "si.emso",
    "SK": "sk.rc",
    "TH": "th.pin",
    "TR": "tr.tckimlik",
    "US": "us.ssn",
    "ZA": "za.idnr",
}

_NATIONAL_ID_RULES: dict[str, Callable[[str], str]] = {
    **{code: stdnum_rule("national_id", name) for code, name in _NATIONAL_ID_MODULES.items()},
    "ES": _spain,
    "FI": _finland,
    "SE": _sweden,
}


def national_id(raw: str, default_region: str | None, country: str | None) -> str:
    check_length("national_id", raw)
    code, number = split_country("national_id", raw, country, TO_ALPHA2)
    rule = _NATIONAL_ID_RULES.get(code)
    if rule is not None:
        return f"{code}:{rule(number)}"
    compact = compact_upper("national_id", number)
    if _GENERIC_NATIONAL_ID_RE.fullmatch(compact) is None:
        raise InvalidIdentifier(
            "national_id", "must be 4-20 letters A-Z and digits, with at least one digit"
        )
    return f"{code}:{compact}"
