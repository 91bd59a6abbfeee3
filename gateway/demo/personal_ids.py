"""Synthetic identifiers of people (phones, e-mail addresses, passports, vehicle plates) and
the ways agencies write them: national and international phone formats, lower case, the
separators each country uses, and the typical slips (a truncated number, a letter O for a
zero, a passport number run on, the international vehicle code "D" for Germany).

As in ``gateway.demo.identifiers``: ``draw_*`` return a value in one plain form, ``write_*``
render it as a clerk might, ``slip_*`` mistype it; the ``Clerk`` checks which is which.
"""

from __future__ import annotations

import random
from functools import lru_cache

import phonenumbers

from gateway.demo.identifiers import DIGITS, digits, letters

# Dutch plates avoid vowels (and Q) so that no words appear.
PLATE_LETTERS = "BDFGHJKLNPRSTVXZ"


# --- phone ------------------------------------------------------------------------------------

# Leading digits of national significant numbers: (region, mobile?) -> prefixes.
_PHONE_PREFIXES: dict[tuple[str, bool], tuple[str, ...]] = {
    ("NL", True): ("61", "62", "63", "64", "65", "68"),
    ("NL", False): ("10", "20", "30", "40", "70", "50", "13", "24", "26", "35", "38", "43"),
    ("BE", True): ("470", "471", "472", "473", "475", "476", "477", "478", "479", "484", "486",
                   "487", "488", "489", "491", "492", "493", "494", "495", "496", "497", "498"),
    ("BE", False): ("2", "3", "9"),
    ("DE", True): ("151", "152", "160", "162", "170", "171", "172", "176", "177", "178", "179"),
    ("DE", False): ("30", "40", "69", "89", "211", "221"),
    ("PL", True): ("50", "51", "53", "57", "60", "66", "69", "72", "78", "79", "88"),
    ("TR", True): ("50", "53", "54", "55"),
    ("ES", True): ("6",),
    ("BG", True): ("87", "88", "89"),
    ("MA", True): ("6",),
    ("GB", True): ("74", "75", "77", "78", "79"),
    ("GB", False): ("20", "121", "131", "161", "1224"),
    ("FR", True): ("6", "7"),
    ("RO", True): ("72", "73", "74", "75", "76"),
    ("AL", True): ("67", "68", "69"),
    ("CY", True): ("96", "97", "99"),
    ("MT", True): ("79", "99"),
    ("AE", True): ("50", "52", "55", "56"),
    ("CO", True): ("30", "31", "32"),
    ("NG", True): ("803", "806", "813", "816", "903"),
    ("VN", True): ("9", "3", "7"),
    ("RU", True): ("91", "92", "98"),
    ("CN", True): ("13", "15", "18"),
}  # fmt: skip
PHONE_REGIONS = tuple(sorted({region for region, _ in _PHONE_PREFIXES}))
# Lengths of national numbers where the region's example number has another length.
_PHONE_LENGTHS = {("BG", True): 9}


def draw_phone(rng: random.Random, region: str, *, mobile: bool = True) -> str:
    """A number in E.164. Validity is left to the caller's ``Clerk`` (it draws again)."""
    key = (region, mobile) if (region, mobile) in _PHONE_PREFIXES else (region, True)
    prefix = rng.choice(_PHONE_PREFIXES[key])
    kind = (
        phonenumbers.PhoneNumberType.MOBILE if key[1] else phonenumbers.PhoneNumberType.FIXED_LINE
    )
    example = phonenumbers.example_number_for_type(region, kind)
    length = _PHONE_LENGTHS.get(key) or (len(str(example.national_number)) if example else 9)
    code = phonenumbers.country_code_for_region(region)
    return f"+{code}{prefix}{digits(rng, max(length - len(prefix), 1))}"


def write_phone(rng: random.Random, e164: str, *, home: str | None) -> str:
    """``e164`` as a clerk writes it: nationally when the number is from ``home`` (the
    agency's default region), else in one of the international forms."""
    international, national, region = _phone_forms(e164)
    forms = [international, e164, "00" + e164[1:], international.replace(" ", "-")]
    if home is not None and region == home:
        compact = national.replace(" ", "")
        forms += [national, national, compact, compact, f"{compact[:2]}-{compact[2:]}"]
    return rng.choice(forms)


@lru_cache(maxsize=4096)
def _phone_forms(e164: str) -> tuple[str, str, str]:
    """(international format, national format, region) of a number: parsing is slow."""
    number = phonenumbers.parse(e164)
    return (
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL),
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL),
        phonenumbers.region_code_for_number(number) or "",
    )


def slip_phone(rng: random.Random, e164: str, *, home: str | None) -> str:
    written = write_phone(rng, e164, home=home)
    mistake = rng.randrange(3)
    if mistake == 0:  # cut short
        return written[: -rng.randint(2, 3)]
    if mistake == 1:  # a letter O typed for a zero, or an l for a one
        places = [i for i, char in enumerate(written) if char.isdigit() and i > 3]
        place = rng.choice(places)
        return written[:place] + rng.choice("Ol") + written[place + 1 :]
    return written + digits(rng, rng.randint(2, 4))  # digits run on


# --- vehicle / passport / email ---------------------------------------------------------------


def draw_plate(rng: random.Random, country: str | None = None) -> str:
    """``CC:plate`` written with the country's usual separators."""
    country = country or rng.choices(("NL", "BE", "DE", "PL"), (75, 10, 10, 5))[0]
    if country == "NL":
        sidecode = rng.choice(
            ("LL-99-LL", "99-LLL-9", "9-LLL-99", "LL-999-L", "L-999-LL", "LLL-99-L")
        )
        plate = "".join(
            rng.choice(PLATE_LETTERS) if c == "L" else rng.choice(DIGITS) if c == "9" else c
            for c in sidecode
        )
    elif country == "BE":
        plate = f"{rng.choice('12')}-{letters(rng, 3)}-{digits(rng, 3)}"
    elif country == "DE":
        district = rng.choice(("B", "HH", "K", "D", "M", "KLE", "AC"))
        plate = f"{district}-{letters(rng, 2)} {rng.randint(1, 9999)}"
    else:
        plate = f"{rng.choice(('WA', 'KR', 'PO', 'GD'))} {digits(rng, 5)}"
    return f"{country}:{plate}"


def write_plate(rng: random.Random, value: str) -> str:
    country, plate = value.split(":", 1)
    return rng.choice(
        (
            value,
            value,
            f"{country}: {plate}",
            f"{country.lower()}:{plate.lower()}",
            f"{country}:{plate.replace('-', '')}",
        )
    )


def slip_plate(rng: random.Random, value: str) -> str:
    country, plate = value.split(":", 1)
    if country == "DE":
        return f"D:{plate}"  # the international vehicle code, not an ISO 3166 country
    return f"{country}:{plate}{rng.choice(('!', '_', '*'))}"


_PASSPORT_SHAPES = {
    "NLD": "LL99999L9",
    "BEL": "LL999999",
    "DEU": "C99999999",
    "POL": "LL9999999",
    "TUR": "U99999999",
    "ESP": "LLL999999",
    "BGR": "999999999",
    "RUS": "999999999",
    "MAR": "LL9999999",
    "ALB": "BL9999999",
    "ROU": "99999999",
    "COL": "AO999999",
    "VNM": "C9999999",
    "NGA": "A99999999",
    "CHN": "E99999999",
    "GBR": "999999999",
    "FRA": "99LL99999",
    "UKR": "LL999999",
}


def draw_passport(rng: random.Random, country: str) -> str:
    shape = _PASSPORT_SHAPES.get(country, "LL9999999")
    number = "".join(
        rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") if c == "L" else rng.choice(DIGITS) if c == "9" else c
        for c in shape
    )
    return f"{country}:{number}"


def write_passport(rng: random.Random, value: str) -> str:
    country, number = value.split(":", 1)
    forms = (number, number, number, number.lower(), f"{number[:2]} {number[2:]}")
    return f"{country}:{rng.choice(forms)}"


def slip_passport(rng: random.Random, value: str) -> str:
    country, number = value.split(":", 1)
    if rng.random() < 0.5:
        return f"{country}:{number}{digits(rng, 10 - len(number) + rng.randint(0, 1))}"
    return f"{country}:{number[:4]}/{number[4:]}"


EMAIL_DOMAINS = (
    "gmail.com", "gmail.com", "hotmail.com", "outlook.com", "proton.me", "yahoo.com",
    "ziggo.nl", "kpnmail.nl", "web.de", "wp.pl", "yandex.ru", "mail.bg", "icloud.com",
)  # fmt: skip


def draw_email(rng: random.Random, given: str, surname: str) -> str:
    """An address from ASCII-folded name parts (the caller folds them)."""
    given, surname = given.lower(), "".join(surname.lower().split())
    local = rng.choice(
        (
            f"{given}.{surname}",
            f"{given[0]}.{surname}",
            f"{given}{surname}{rng.randint(1, 99)}",
            f"{surname}.{given}",
            f"{given}_{surname[:3]}{rng.randint(60, 99)}",
        )
    )
    local = "".join(c for c in local if c.isalnum() or c in "._")
    return f"{local}@{rng.choice(EMAIL_DOMAINS)}"


def write_email(rng: random.Random, address: str) -> str:
    local, domain = address.split("@")
    return rng.choice(
        (address, address, address, f"{local.title()}@{domain.capitalize()}", f" {address} ")
    )


def slip_email(rng: random.Random, address: str) -> str:
    local, domain = address.split("@")
    return rng.choice(
        (
            f"{local}@{domain.rsplit('.', 1)[0]}",
            f"{local}.{domain}",
            f"{local} @{domain}",
            f"{local}@@{domain}",
        )
    )
