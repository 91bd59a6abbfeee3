"""Synthetic trade and finance identifiers (containers, vessels, IBANs, LEIs, company numbers)
with real check digits, which python-stdnum computes, and the ways people write them down:
spaces and dashes, lower case, register-specific layouts, and the typical slips (a wrong
check digit, a digit too few). ``gateway.demo.personal_ids`` does the same for people's.

``draw_*`` functions return a value in one plain written form; ``write_*`` render a value the
way a clerk might type it; ``slip_*`` return a plausible mistyped version. Whether a value is
valid is never assumed here: the ``Clerk`` checks every value against the vocabulary.
"""

from __future__ import annotations

import random
import string

from stdnum import iban as stdnum_iban
from stdnum import imo as stdnum_imo
from stdnum import iso6346
from stdnum.iso7064 import mod_97_10

DIGITS = string.digits
LETTERS = string.ascii_uppercase
ALNUM = LETTERS + DIGITS


def digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice(DIGITS) for _ in range(count))


def letters(rng: random.Random, count: int, alphabet: str = LETTERS) -> str:
    return "".join(rng.choice(alphabet) for _ in range(count))


def grouped(text: str, size: int = 4, separator: str = " ") -> str:
    return separator.join(text[i : i + size] for i in range(0, len(text), size))


def _other_digit(rng: random.Random, digit: str) -> str:
    return rng.choice([d for d in DIGITS if d != digit])


def _retype_digit(rng: random.Random, text: str) -> str:
    """``text`` with one digit replaced by another (a typo that check digits catch)."""
    places = [i for i, char in enumerate(text) if char.isdigit()]
    place = rng.choice(places)
    return text[:place] + _other_digit(rng, text[place]) + text[place + 1 :]


# --- container (ISO 6346) ---------------------------------------------------------------------

OWNER_CODES = (
    "MSCU", "MEDU", "MAEU", "MRKU", "CMAU", "HLXU", "HLBU", "OOLU", "TGHU", "TCNU", "SEGU",
    "CSNU", "EMCU", "TRHU", "GESU", "BMOU", "FCIU", "TEMU", "CAIU", "DFSU", "ONEU", "YMLU",
)  # fmt: skip


def draw_container(rng: random.Random, owner: str | None = None) -> str:
    head = (owner or rng.choice(OWNER_CODES)) + digits(rng, 6)
    return head + iso6346.calc_check_digit(head)


def write_container(rng: random.Random, number: str) -> str:
    owner, serial, check = number[:4], number[4:10], number[10]
    return rng.choice(
        (
            number,
            number,
            f"{owner} {serial} {check}",
            f"{owner} {serial}-{check}",
            f"{owner}-{serial}-{check}",
            f"{owner}{serial}/{check}",
            number.lower(),
        )
    )


def slip_container(rng: random.Random, number: str) -> str:
    return write_container(rng, number[:10] + _other_digit(rng, number[10]))


# --- vessel (IMO number) ----------------------------------------------------------------------


def draw_vessel(rng: random.Random) -> str:
    head = rng.choice("99999998") + digits(rng, 5)
    return head + stdnum_imo.calc_check_digit(head)


def write_vessel(rng: random.Random, number: str) -> str:
    return rng.choice((number, f"IMO {number}", f"IMO{number}", f"imo {number}", f"IMO: {number}"))


def slip_vessel(rng: random.Random, number: str) -> str:
    return write_vessel(rng, number[:6] + _other_digit(rng, number[6]))


# --- iban / lei -------------------------------------------------------------------------------

_BANKS = {
    "NL": ("ABNA", "INGB", "RABO", "SNSB", "TRIO", "BUNQ", "KNAB", "ASNB"),
    "GB": ("BARC", "HBUK", "LOYD", "NWBK", "MIDL"),
    "MT": ("VALL", "MALT", "APSB"),
    "BG": ("UNCR", "BPBI", "STSA", "FINV"),
}
# BBAN layouts (ISO 13616 registry notation): n digits, a letters, c letters or digits; "b" is
# a bank code from _BANKS.
_BBAN_LAYOUTS = {
    "NL": "b10n",
    "DE": "18n",
    "GB": "b14n",
    "CY": "8n16n",
    "MT": "b5n18c",
    "LU": "3n13n",
    "AE": "19n",
    "BG": "b6n8c",
    "LT": "16n",
}
IBAN_COUNTRIES = (*_BBAN_LAYOUTS, "BE")


def _bban(rng: random.Random, country: str) -> str:
    if country == "BE":
        # Belgian account numbers carry their own mod-97 check in the last two digits.
        head = digits(rng, 10)
        return head + f"{int(head) % 97 or 97:02d}"
    layout, parts = _BBAN_LAYOUTS[country], []
    number = ""
    for char in layout:
        if char.isdigit():
            number += char
            continue
        if char == "b":
            parts.append(rng.choice(_BANKS[country]))
        else:
            alphabet = {"n": DIGITS, "a": LETTERS, "c": DIGITS * 3 + LETTERS}[char]
            parts.append("".join(rng.choice(alphabet) for _ in range(int(number))))
        number = ""
    return "".join(parts)


def iban_from_bban(country: str, bban: str) -> str:
    return country + stdnum_iban.calc_check_digits(f"{country}00{bban}") + bban


def draw_iban(rng: random.Random, country: str | None = None) -> str:
    country = country or rng.choice(IBAN_COUNTRIES)
    return iban_from_bban(country, _bban(rng, country))


def write_iban(rng: random.Random, iban: str) -> str:
    return rng.choice(
        (iban, iban, grouped(iban), grouped(iban), grouped(iban, 4, "-"), grouped(iban).lower())
    )


def slip_iban(rng: random.Random, iban: str) -> str:
    return write_iban(rng, iban[:4] + _retype_digit(rng, iban[4:]))


_LEI_ISSUERS = ("7245", "5493", "2138", "5299", "8156", "9695", "2549", "3912")


def lei_with_check(head: str) -> str:
    """The 20-character LEI for an 18-character ``head`` (ISO 17442: ISO 7064 mod 97-10)."""
    return head + mod_97_10.calc_check_digits(head)


def draw_lei(rng: random.Random) -> str:
    return lei_with_check(rng.choice(_LEI_ISSUERS) + "00" + letters(rng, 12, ALNUM))


def write_lei(rng: random.Random, lei: str) -> str:
    return rng.choice((lei, lei, lei, lei.lower(), grouped(lei)))


def slip_lei(rng: random.Random, lei: str) -> str:
    return write_lei(rng, lei[:18] + _other_digit(rng, lei[18]) + lei[19])


# --- company ----------------------------------------------------------------------------------

COMPANY_COUNTRIES = ("NL", "NL", "NL", "NL", "BE", "BE", "GB", "GB", "CY", "MT", "PL", "AE")


def draw_company(rng: random.Random, country: str | None = None) -> str:
    """``CC:number`` in the register's own plain form."""
    country = country or rng.choice(COMPANY_COUNTRIES)
    if country == "NL":  # KvK: 8 digits
        number = rng.choice("123456789") + digits(rng, 7)
    elif country == "BE":  # enterprise number: 0 + 7 digits + 97 - (first 8 mod 97)
        head = "0" + rng.choice("23456789") + digits(rng, 6)
        number = head + f"{97 - int(head) % 97:02d}"
    elif country == "GB":  # Companies House
        number = rng.choice(("0", "1", "SC", "NI", "OC")) + digits(rng, 6)
        number = number.zfill(8) if number[0].isdigit() else number
    elif country == "CY":
        number = "HE" + digits(rng, 6)
    elif country == "MT":
        number = "C" + digits(rng, 5)
    elif country == "PL":  # KRS
        number = "0000" + digits(rng, 6)
    else:
        number = rng.choice(("DMCC", "JLT", "CN")) + digits(rng, 6)
    return f"{country}:{number}"


def write_company(rng: random.Random, value: str) -> str:
    country, number = value.split(":", 1)
    forms: tuple[str, ...] = (number,)
    if country == "NL":
        forms = (
            number,
            number,
            f"{number[:4]} {number[4:]}",
            f"{number[:2]}.{number[2:4]}.{number[4:6]}.{number[6:]}",
        )
    elif country == "BE":
        forms = (
            number,
            f"{number[:4]}.{number[4:7]}.{number[7:]}",
            f"{number[:4]} {number[4:7]} {number[7:]}",
        )
    elif country == "GB":
        forms = (number, number, number.lstrip("0") or number)
    elif country == "MT":
        forms = (number, f"C {number[1:]}")
    elif country == "CY":
        forms = (number, f"HE {number[2:]}")
    return f"{country}:{rng.choice(forms)}"


def slip_company(rng: random.Random, value: str) -> str:
    """A mistyped register number: a digit too few, a wrong Belgian check, a stray character."""
    country, number = value.split(":", 1)
    if country == "BE":
        return f"{country}:{number[:8]}{_retype_digit(rng, number[8:])}"
    if country == "NL":
        cut = rng.randrange(len(number))
        return f"{country}:{number[:cut]}{number[cut + 1 :]}"
    return f"{country}:{number[:3]}{rng.choice('#?*')}{number[3:]}"
