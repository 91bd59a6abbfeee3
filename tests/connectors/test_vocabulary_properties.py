"""Property tests for the vocabulary: generated identifiers written in many ways meet in one
canonical form, canonical forms are fixed points, and junk is refused, never crashes."""

from __future__ import annotations

import string
from datetime import date

import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stdnum import imo, iso6346, luhn
from stdnum.iso7064 import mod_97_10

from connectors.vocabulary import IDENTIFIER_TYPES, InvalidIdentifier, canonicalise
from connectors.vocabulary._countries import ALPHA2_TO_ALPHA3
from connectors.vocabulary._finance import IBAN_BBAN_PATTERNS
from connectors.vocabulary._person import HONORIFICS

Case = tuple[str, dict[str, str], str]  # raw, options, expected canonical form

UPPER, DIGITS = string.ascii_uppercase, string.digits
ALPHA2 = sorted(ALPHA2_TO_ALPHA3)
PROPERTY = settings(deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def spaced(draw: st.DrawFn, compact: str, separators: str = " -./", cased: bool = True) -> str:
    """``compact`` cut into chunks joined by separators, in random case, maybe padded."""
    out: list[str] = []
    for char in compact:
        if out and draw(st.integers(0, 3)) == 0:
            out.append(draw(st.sampled_from(separators)))
        out.append(char.lower() if cased and draw(st.booleans()) else char)
    pad = draw(st.sampled_from(["", " ", "\t", "  "]))
    return pad + "".join(out) + draw(st.sampled_from(["", " ", "\n"]))


def alnum(min_size: int, max_size: int) -> st.SearchStrategy[str]:
    return st.text(UPPER + DIGITS, min_size=min_size, max_size=max_size)


@st.composite
def country_placed(draw: st.DrawFn, number: str, a2: str) -> tuple[str, dict[str, str]]:
    """Give the number its country as a 'CC:' prefix (alpha-2 or alpha-3) or as the option."""
    code = draw(st.sampled_from([a2, ALPHA2_TO_ALPHA3[a2]]))
    code = code.lower() if draw(st.booleans()) else code
    if draw(st.booleans()):
        return f"{code}{draw(st.sampled_from([':', ': ', ' :']))}{number}", {}
    return number, {"country": code}


# --- generators of valid identifiers with their expected canonical form ---------------------


@st.composite
def passports(draw: st.DrawFn) -> Case:
    a2, number = draw(st.sampled_from(ALPHA2)), draw(alnum(1, 9))
    a3 = ALPHA2_TO_ALPHA3[a2]
    if draw(st.integers(0, 3)) == 0:  # the ICAO-style "NLD X1234567"
        return f"{a3} {draw(spaced(number, ' -.<')).strip()}", {}, f"{a3}:{number}"
    # Without a 'CC:' prefix a number like "ABW 123" would read as the spaced form (as the
    # specification says), so these variants put no whitespace inside the number.
    raw, options = draw(country_placed(draw(spaced(number, "-.<")), a2))
    return raw, options, f"{a3}:{number}"


@st.composite
def dutch_bsns(draw: st.DrawFn) -> Case:
    digits = draw(st.text(DIGITS, min_size=8, max_size=8).filter(lambda d: int(d) > 0))
    check = sum(int(d) * w for d, w in zip(digits, range(9, 1, -1), strict=True)) % 11
    if check == 10:
        digits, check = "11122233", 3
    number = digits + str(check)
    raw, options = draw(country_placed(draw(spaced(number)), "NL"))
    return raw, options, f"NL:{number}"


@st.composite
def swedish_personnummers(draw: st.DrawFn) -> Case:
    born = draw(st.dates(date(1901, 1, 1), date(2019, 12, 31)))
    serial = draw(st.text(DIGITS, min_size=3, max_size=3))
    short = f"{born:%y%m%d}{serial}"
    number = short + luhn.calc_check_digit(short)
    canonical = f"SE:{born:%Y}{number[2:]}"
    century_form = f"{born:%Y}{number[2:6]}{draw(st.sampled_from(['-', '']))}{number[6:]}"
    raw = draw(st.sampled_from([century_form, f"{number[:6]}-{number[6:]}", number]))
    if date.today().year - born.year >= 100 and len(raw) <= 11:
        raw = f"{number[:6]}+{number[6:]}"
    placed, options = draw(country_placed(raw, "SE"))
    return placed, options, canonical


@st.composite
def generic_national_ids(draw: st.DrawFn) -> Case:
    a2 = draw(st.sampled_from(["GB", "LU", "AU", "GR", "UA"]))
    number = draw(alnum(3, 19)) + draw(st.sampled_from(DIGITS))
    raw, options = draw(country_placed(draw(spaced(number)), a2))
    return raw, options, f"{a2}:{number}"


EXAMPLE_PHONES = sorted(
    (
        (region, number)
        for region in phonenumbers.SUPPORTED_REGIONS
        for kind in (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE)
        if (number := phonenumbers.example_number_for_type(region, kind)) is not None
    ),
    key=lambda pair: (pair[0], pair[1].national_number),
)


@st.composite
def phones(draw: st.DrawFn) -> Case:
    region, number = draw(st.sampled_from(EXAMPLE_PHONES))
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    kind = draw(st.sampled_from(["e164", "international", "00", "national"]))
    if kind == "national":
        formatted = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
        options = {"default_region": region}
    else:
        formatted = phonenumbers.format_number(
            number, phonenumbers.PhoneNumberFormat.INTERNATIONAL if kind != "e164" else
            phonenumbers.PhoneNumberFormat.E164,
        )  # fmt: skip
        if kind == "00":
            formatted = "00" + formatted[1:]
        options = draw(st.sampled_from([{}, {"default_region": draw(st.sampled_from(ALPHA2))}]))
    separator = draw(st.sampled_from([" ", "-", ".", "/"]))
    return f" {formatted.replace(' ', separator)} ", options, e164


@st.composite
def emails(draw: st.DrawFn) -> Case:
    atom = st.text(string.ascii_lowercase + DIGITS + "!#$%&'*+/=?^_`{|}~-", min_size=1, max_size=8)
    label = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True)
    local = ".".join(draw(st.lists(atom, min_size=1, max_size=3)))
    domain = ".".join([*draw(st.lists(label, min_size=1, max_size=3)), draw(st.sampled_from(
        ["com", "org", "nl", "museum", "xn--p1ai"]))])  # fmt: skip
    address = f"{local}@{domain}"
    written = "".join(c.upper() if draw(st.booleans()) else c for c in address)
    return draw(st.sampled_from(["", " ", "\t"])) + written + " ", {}, address


@st.composite
def ibans(draw: st.DrawFn) -> Case:
    country = draw(st.sampled_from(sorted(IBAN_BBAN_PATTERNS)))
    bban = draw(st.from_regex(IBAN_BBAN_PATTERNS[country], fullmatch=True))
    check = mod_97_10.calc_check_digits(bban + country)
    compact = country + check + bban
    grouped = " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))
    raw = draw(st.sampled_from([compact, grouped, compact.lower(), draw(spaced(compact))]))
    return raw, {}, compact


@st.composite
def bics(draw: st.DrawFn) -> Case:
    branch = draw(st.sampled_from(["", "XXX", draw(alnum(3, 3))]))
    compact = draw(st.text(UPPER, min_size=4, max_size=4)) + draw(st.sampled_from(ALPHA2))
    compact += draw(alnum(2, 2)) + branch
    expected = compact[:8] if branch == "XXX" else compact
    return draw(spaced(compact, " -")), {}, expected


@st.composite
def companies(draw: st.DrawFn) -> Case:
    if draw(st.booleans()):
        digits = draw(st.text(DIGITS, min_size=1, max_size=8))
        raw, options = draw(country_placed(draw(spaced(digits)), "GB"))
        return raw, options, f"GB:{digits.zfill(8)}"
    body = draw(st.text(DIGITS, min_size=8, max_size=8))
    siren = body + luhn.calc_check_digit(body)
    raw, options = draw(country_placed(draw(spaced(siren, " .")), "FR"))
    return raw, options, f"FR:{siren}"


@st.composite
def leis(draw: st.DrawFn) -> Case:
    body = draw(alnum(18, 18))
    compact = body + mod_97_10.calc_check_digits(body)
    return draw(spaced(compact, " -")), {}, compact


@st.composite
def containers(draw: st.DrawFn) -> Case:
    body = draw(st.text(UPPER, min_size=3, max_size=3)) + draw(st.sampled_from("UJZR"))
    body += draw(st.text(DIGITS, min_size=6, max_size=6))
    compact = body + iso6346.calc_check_digit(body)
    return draw(spaced(compact, " -")), {}, compact


@st.composite
def vessels(draw: st.DrawFn) -> Case:
    body = draw(st.text(DIGITS, min_size=6, max_size=6))
    digits = body + imo.calc_check_digit(body)
    prefix = draw(st.sampled_from(["", "IMO", "IMO ", "imo:", "IMO-"]))
    return prefix + draw(spaced(digits, " ")), {}, f"IMO{digits}"


CYRILLIC_LOOKALIKES = dict(zip("ABEKMHOPCTYX", "\u0410\u0412\u0415\u041a\u041c\u041d\u041e"
                               "\u0420\u0421\u0422\u0423\u0425", strict=True))  # fmt: skip


@st.composite
def vehicles(draw: st.DrawFn) -> Case:
    a2 = draw(st.sampled_from(["UA", "RU", "BG", "NL", "DE"]))
    plate = draw(st.text("ABEKMHOPCTYX" + DIGITS, min_size=1, max_size=12))
    written = "".join(CYRILLIC_LOOKALIKES.get(c, c) if draw(st.booleans()) else c for c in plate)
    raw, options = draw(country_placed(draw(spaced(written, " -.")), a2))
    return raw, options, f"{a2}:{plate}"


ACCENTED = {"a": "\u00e1\u00e0\u00e2\u00e4\u00e5", "e": "\u00e9\u00e8\u00ea\u00eb",
            "i": "\u00ed\u00ee\u00ef", "o": "\u00f3\u00f4\u00f6", "u": "\u00fa\u00fb\u00fc",
            "c": "\u00e7", "n": "\u00f1", "s": "\u0161", "z": "\u017e"}  # fmt: skip


@st.composite
def persons(draw: st.DrawFn) -> Case:
    word = st.text(string.ascii_lowercase, min_size=1, max_size=9).filter(
        lambda w: w not in HONORIFICS
    )
    tokens = draw(st.lists(word, min_size=1, max_size=4))
    born = draw(st.dates(date(1900, 1, 1), date(2020, 12, 31)))
    expected = f"{' '.join(sorted(tokens))}|{born.isoformat()}"
    written = []
    for token in draw(st.permutations(tokens)):
        letters = [
            draw(st.sampled_from(ACCENTED[c])) if c in ACCENTED and draw(st.booleans()) else c
            for c in token
        ]
        if draw(st.integers(0, 5)) == 0:
            letters.insert(draw(st.integers(0, len(letters))), "'")
        text = "".join(letters)
        written.append(text.upper() if draw(st.booleans()) else text.capitalize())
    name = draw(st.sampled_from([" ", ", ", " - ", "  "])).join(written)
    if draw(st.booleans()):
        name = f"{draw(st.sampled_from(['Dr.', 'MR', 'Mme', 'Herr', 'Prof']))} {name}"
    day_first = draw(st.sampled_from(["%d.%m.%Y", "%d/%m/%Y", "%d-%m-%Y"]))
    dob = draw(st.sampled_from([born.isoformat(), f"{born:%Y%m%d}", born.strftime(day_first),
                                f"{born.day}.{born.month}.{born:%Y}"]))  # fmt: skip
    return f"{name}|{dob}", {}, expected


GENERATORS: dict[str, st.SearchStrategy[Case]] = {
    "passport": passports(),
    "national_id": st.one_of(dutch_bsns(), swedish_personnummers(), generic_national_ids()),
    "phone": phones(),
    "email": emails(),
    "iban": ibans(),
    "bic": bics(),
    "company": companies(),
    "lei": leis(),
    "container": containers(),
    "vessel": vessels(),
    "vehicle": vehicles(),
    "person": persons(),
}


def test_every_type_has_a_generator() -> None:
    assert set(GENERATORS) == set(IDENTIFIER_TYPES)


@pytest.mark.parametrize("id_type", IDENTIFIER_TYPES)
def test_written_variants_meet_in_the_canonical_form_which_is_a_fixed_point(id_type: str) -> None:
    @PROPERTY
    @given(GENERATORS[id_type])
    def check(case: Case) -> None:
        raw, options, expected = case
        assert canonicalise(id_type, raw, **options) == expected
        assert canonicalise(id_type, expected) == expected
        assert canonicalise(id_type, expected, **options) == expected

    check()


JUNK_OPTIONS = st.fixed_dictionaries(
    {},
    optional={
        "country": st.sampled_from(["NL", "nld", "SE", "FI", "DE", "GB", "ES", "XX", ""]),
        "default_region": st.sampled_from(["NL", "GB", "US", "ZZ", "deu", ""]),
    },
)
JUNK = st.one_of(
    st.text(max_size=40),
    st.text(UPPER + DIGITS + " -.:/+|<", max_size=30),
    st.from_regex(r"[A-Za-z]{2,3}:[A-Za-z0-9 .\-]{0,20}", fullmatch=True),
    st.from_regex(r"\+?[0-9 ()\-]{3,20}", fullmatch=True),
    st.from_regex(r"[^|]{0,20}\|[0-9./\-]{0,12}", fullmatch=True),
)


@pytest.mark.parametrize("id_type", IDENTIFIER_TYPES)
def test_junk_is_refused_or_canonicalised_to_a_fixed_point(id_type: str) -> None:
    @PROPERTY
    @given(JUNK, JUNK_OPTIONS)
    def check(raw: str, options: dict[str, str]) -> None:
        try:
            canonical = canonicalise(id_type, raw, **options)
        except InvalidIdentifier as error:
            assert error.id_type == id_type
            if len(raw) >= 8 and any(c.isdigit() for c in raw):
                assert raw not in str(error)
            return
        assert canonicalise(id_type, canonical) == canonical
        assert canonicalise(id_type, canonical, **options) == canonical

    check()
