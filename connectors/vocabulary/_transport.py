"""Transport identifiers: ``container`` (ISO 6346), ``vessel`` (IMO number) and ``vehicle``
(registration plate)."""

from __future__ import annotations

import re

from unidecode import unidecode

from connectors.vocabulary._common import (
    InvalidIdentifier,
    check_length,
    compact_upper,
    split_country,
)
from connectors.vocabulary._countries import TO_ALPHA2

# --- container ------------------------------------------------------------------------------

_CONTAINER_SHAPE_RE = re.compile(r"[A-Z]{3}[UJZR][0-9]{7}")
# ISO 6346 character values: digits are themselves; letters count from A=10, skipping the
# multiples of 11 (so B=12, L=23, V=34).
_CONTAINER_VALUES: dict[str, int] = {
    char: value
    for value, char in enumerate("0123456789A BCDEFGHIJK LMNOPQRSTU VWXYZ")
    if char != " "
}


def container(raw: str, default_region: str | None, country: str | None) -> str:
    check_length("container", raw)
    compact = compact_upper("container", raw)
    if _CONTAINER_SHAPE_RE.fullmatch(compact) is None:
        raise InvalidIdentifier(
            "container", "expected owner code, category U/J/Z/R, 6-digit serial and check digit"
        )
    # Check digit: sum of value * 2**position over the first 10 characters, mod 11, mod 10.
    total = sum(_CONTAINER_VALUES[char] << i for i, char in enumerate(compact[:10]))
    if total % 11 % 10 != int(compact[10]):
        raise InvalidIdentifier("container", "check digit does not match")
    return compact


# --- vessel ---------------------------------------------------------------------------------

_VESSEL_SEPARATORS_RE = re.compile(r"[\s\-\u2010-\u2015\u2212./:]+")
_VESSEL_DIGITS_RE = re.compile(r"[0-9]{7}")


def vessel(raw: str, default_region: str | None, country: str | None) -> str:
    check_length("vessel", raw)
    compact = compact_upper("vessel", raw, _VESSEL_SEPARATORS_RE)
    digits = compact[3:] if compact.startswith("IMO") else compact
    if _VESSEL_DIGITS_RE.fullmatch(digits) is None:
        raise InvalidIdentifier("vessel", "an IMO number has 7 digits")
    # Check digit: first six digits weighted 7, 6, ..., 2; sum mod 10.
    weighted = zip(digits[:6], (7, 6, 5, 4, 3, 2), strict=True)
    total = sum(int(digit) * weight for digit, weight in weighted)
    if total % 10 != int(digits[6]):
        raise InvalidIdentifier("vessel", "check digit does not match")
    return "IMO" + digits


# --- vehicle --------------------------------------------------------------------------------

# Cyrillic and Greek plates use only the letters that look like Latin ones, and plate readers
# report the Latin letter: map them to what they look like, not to their transliteration.
_PLATE_LOOKALIKES = str.maketrans(
    "\u0410\u0412\u0415\u041a\u041c\u041d\u041e\u0420\u0421\u0422\u0423\u0425\u0406\u0408"
    "\u0391\u0392\u0395\u0396\u0397\u0399\u039a\u039c\u039d\u039f\u03a1\u03a4\u03a5\u03a7",
    "ABEKMHOPCTYXIJABEZHIKMNOPTYX",
)
_PLATE_SEPARATORS_RE = re.compile(r"[\s\-\u2010-\u2015\u2212.\u00b7\u2022]+")
_PLATE_RE = re.compile(r"[A-Z0-9]{1,12}")


def vehicle(raw: str, default_region: str | None, country: str | None) -> str:
    check_length("vehicle", raw)
    code, plate = split_country("vehicle", raw, country, TO_ALPHA2)
    plate = _PLATE_SEPARATORS_RE.sub("", plate.upper().translate(_PLATE_LOOKALIKES))
    if not plate.isascii():
        # Remaining letters (e.g. German umlauts) are transliterated: "Ö" -> "O".
        plate = _PLATE_SEPARATORS_RE.sub("", unidecode(plate).upper())
    if _PLATE_RE.fullmatch(plate) is None:
        raise InvalidIdentifier("vehicle", "plate must be 1-12 letters A-Z and digits")
    return f"{code}:{plate}"
