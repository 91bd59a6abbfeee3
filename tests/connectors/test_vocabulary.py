"""The identifier vocabulary, type by type: accepted variants meet in one canonical form, bad
values are refused with the type named and without the value in the message."""

from __future__ import annotations

import pickle
import re
from datetime import date, timedelta

import pytest

import connectors.vocabulary as vocabulary
from connectors.vocabulary import (
    IDENTIFIER_TYPES,
    VOCABULARY_VERSION,
    InvalidIdentifier,
    UnknownIdentifierType,
    canonicalise,
    canonicalise_person,
)

Options = dict[str, str]


def refusal(id_type: str, raw: str, **options: str) -> InvalidIdentifier:
    """Canonicalise, expect a refusal, and check the refusal leaks nothing of the value."""
    with pytest.raises(InvalidIdentifier) as caught:
        canonicalise(id_type, raw, **options)
    error = caught.value
    message = str(error)
    assert error.id_type == id_type
    assert message == f"{id_type}: {error.reason}"
    if len(raw.strip()) >= 4:
        assert raw.strip() not in message
    digits = re.sub(r"[^0-9]", "", raw)
    if len(digits) >= 4:
        assert digits not in re.sub(r"[^0-9]", "", error.reason)
    return error


# --- the public surface ---------------------------------------------------------------------


def test_public_api_is_exactly_the_documented_names_sorted() -> None:
    # isort-style order (as ruff's RUF022 keeps it): CONSTANTS, then Classes, then functions.
    def kind(name: str) -> tuple[int, str]:
        return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

    assert vocabulary.__all__ == sorted(vocabulary.__all__, key=kind)
    assert set(vocabulary.__all__) == {
        "IDENTIFIER_TYPES",
        "VOCABULARY_VERSION",
        "InvalidIdentifier",
        "UnknownIdentifierType",
        "canonicalise",
        "canonicalise_person",
    }


def test_version_and_types_are_the_published_ones() -> None:
    assert VOCABULARY_VERSION == 1
    assert IDENTIFIER_TYPES == (
        "passport", "national_id", "phone", "email", "iban", "bic",
        "company", "lei", "container", "vessel", "vehicle", "person",
    )  # fmt: skip


def test_unknown_type_names_the_type_and_lists_the_known_ones() -> None:
    with pytest.raises(UnknownIdentifierType) as caught:
        canonicalise("ship", "9074729")
    assert isinstance(caught.value, ValueError)
    assert "'ship'" in str(caught.value)
    assert all(known in str(caught.value) for known in IDENTIFIER_TYPES)
    assert "9074729" not in str(caught.value)


def test_invalid_identifier_is_a_value_error_with_type_and_reason() -> None:
    error = InvalidIdentifier("iban", "check digits do not match (mod-97)")
    assert isinstance(error, ValueError)
    assert (error.id_type, error.reason) == ("iban", "check digits do not match (mod-97)")
    assert str(error) == "iban: check digits do not match (mod-97)"


def test_invalid_identifier_survives_pickling_for_worker_processes() -> None:
    pickled = pickle.dumps(InvalidIdentifier("bic", "must be 8 or 11 characters"))
    error = pickle.loads(pickled)  # noqa: S301 - our own bytes, made one line above
    assert (error.id_type, error.reason) == ("bic", "must be 8 or 11 characters")
    assert str(error) == "bic: must be 8 or 11 characters"


def test_a_value_that_is_not_a_string_is_refused() -> None:
    with pytest.raises(InvalidIdentifier, match=r"^lei: value must be a string$"):
        canonicalise("lei", 5493001)  # type: ignore[arg-type]


@pytest.mark.parametrize("id_type", IDENTIFIER_TYPES)
def test_overlong_values_are_refused_before_parsing(id_type: str) -> None:
    error = refusal(id_type, "1" * 600, country="NL", default_region="NL")
    assert error.reason.startswith("longer than")


# --- accepted variants meet in one canonical form -------------------------------------------

VARIANTS: list[tuple[str, str, list[tuple[str, Options]]]] = [
    ("passport", "NLD:XA1234567", [
        ("NLD:XA1234567", {}), ("nld: xa-123-4567", {}), ("NLD XA1234567", {}),
        ("NL:XA1234567", {}), ("XA 1234567<<", {"country": "NL"}),
        ("xa1234567", {"country": "nld"}),
        ("NLD XA1234567", {"country": "NL"}), ("NLD:XA\u20111234567", {}),
    ]),
    ("passport", "DEU:C01X00T47", [("D:C01X00T47", {}), ("C01X00T47", {"country": "D"})]),
    ("national_id", "NL:111222333", [
        ("NL:111222333", {}), ("NLD: 111 222 333", {}), ("nl:1112.22.333", {}),
        ("111222333", {"country": "NL"}), ("11122\u00a02333", {"country": "NLD"}),
    ]),
    ("national_id", "SE:198803200016", [
        ("SE:880320-0016", {}), ("SE:8803200016", {}), ("SE:19880320-0016", {}),
        ("SE:198803200016", {}), ("880320 - 0016", {"country": "SE"}),
    ]),
    ("national_id", "FI:131052-308T", [("FI:131052-308t", {}), ("FI: 131052-308T ", {})]),
    ("national_id", "ES:X2482300W", [("ES:x-2482300w", {}), ("ES:X 2482300 W", {})]),
    ("national_id", "CZ:7103192745", [("CZ:710319/2745", {}), ("CZE:7103192745", {})]),
    ("national_id", "GB:QQ123456C", [("GB:QQ 12 34 56 C", {}), ("qq123456c", {"country": "GB"})]),
    ("phone", "+442079460018", [
        ("+442079460018", {}), ("+44 20 7946 0018", {}), ("+44 (0)20 7946 0018", {}),
        ("0044 20 7946 0018", {}), ("0044 20 7946 0018", {"default_region": "US"}),
        ("020 7946 0018", {"default_region": "GB"}), ("020-7946-0018", {"default_region": "gbr"}),
        ("(020) 7946.0018", {"default_region": "GB"}), ("+44 20 7946 0018", {"country": "FR"}),
    ]),
    ("phone", "+14155552671", [("(415) 555-2671", {"default_region": "US"}),
                               ("011 1 415 555 2671", {"default_region": "US"})]),
    ("email", "foo.bar+tag@example.com", [
        ("foo.bar+tag@example.com", {}), ("  Foo.Bar+Tag@EXAMPLE.com\t", {}),
    ]),
    ("iban", "GB82WEST12345698765432", [
        ("GB82 WEST 1234 5698 7654 32", {}), ("gb82west12345698765432", {}),
        ("GB82-WEST-1234-5698-7654-32", {}), ("GB82.WEST.1234.5698.7654.32", {}),
        ("GB82\u00a0WEST\u00a01234\u00a05698\u00a07654\u00a032", {}),
    ]),
    ("bic", "DEUTDEFF", [("DEUTDEFF", {}), ("deutdeff", {}), ("DEUT DE FF XXX", {})]),
    ("bic", "DEUTDEFF500", [("DEUTDEFF500", {}), ("deut-de-ff-500", {})]),
    ("company", "GB:01234567", [
        ("GB:1234567", {}), ("GB:01234567", {}), ("GBR: 0123 4567", {}),
        ("1234567", {"country": "GB"}),
    ]),
    ("company", "FR:404833048", [("FR:404 833 048", {}), ("404.833.048", {"country": "FRA"})]),
    ("company", "DE:Aachen HRA 11223", [("DE:Aachen HRA 11223", {}),
                                         ("DE: Aachen  HRA 11223 ", {})]),
    ("company", "AT:122119M", [("AT:FN 122119m", {}), ("AT:122119M", {}),
                               ("122119 m", {"country": "AT"})]),
    ("company", "BE:0403170701", [("BE:0403.170.701", {}), ("BE:BE 403.170.701", {})]),
    ("company", "CH:CHE100155212", [("CH:CHE-100.155.212", {}), ("CH:100.155.212", {})]),
    ("company", "IE:123456", [("IE:123456", {}), ("IE:123-456", {})]),
    ("lei", "5493001KJTIIGC8Y1R12", [("5493001KJTIIGC8Y1R12", {}),
                                     ("5493 001k jtii gc8y 1r12", {})]),
    ("container", "CSQU3054383", [("CSQU3054383", {}), ("CSQU 305438 3", {}),
                                  ("csqu-305438-3", {})]),
    ("vessel", "IMO9074729", [("IMO 9074729", {}), ("9074729", {}), ("imo:9074729", {}),
                              ("IMO9074729", {}), ("IMO 907 4729", {})]),
    ("vehicle", "NL:AB123C", [("NL:AB-123-C", {}), ("ab 123 c", {"country": "NL"}),
                              ("NLD:ab.123.c", {}), ("NL:AB\u00b7123\u00b7C", {})]),
    ("vehicle", "UA:AA1234BC", [("UA:\u0410\u0410 1234 \u0412\u0421", {}), ("UA:aa1234bc", {}),
                                ("UA:\u0430\u0430 1234 \u0432\u0441", {})]),
    ("vehicle", "GR:IKA1234", [("GR:\u0399\u039a\u0391-1234", {}), ("GR:IKA 1234", {})]),
    ("vehicle", "DE:TOLA12", [("DE:T\u00d6L-A 12", {}), ("DE:TOL A 12", {})]),
    ("person", "ivanov petr|1979-03-01", [
        ("Petr Ivanov|1979-03-01", {}), ("IVANOV, Petr|01.03.1979", {}),
        ("Dr. P\u00ebtr Ivanov|19790301", {}), ("ivanov petr|1/3/1979", {}),
        ("Mr Petr IVANOV|01-03-1979", {}), ("  Petr   Ivanov |  1979-03-01 ", {}),
    ]),
    ("person", "obrien sean|1980-04-12", [
        ("S\u00e9an O'Brien|12/04/1980", {}), ("O\u2019Brien, Se\u00e1n|1980-04-12", {}),
        ("OBRIEN SEAN|12.4.1980", {}),
    ]),
    ("person", "jean pierre smith|1985-06-15", [("Jean-Pierre Smith|1985-06-15", {}),
                                                ("SMITH, Jean Pierre|15.06.1985", {})]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("id_type", "raw", "options", "expected"),
    [(t, raw, opts, expected) for t, expected, forms in VARIANTS for raw, opts in forms],
)
def test_formatting_variants_meet_in_one_canonical_form(
    id_type: str, raw: str, options: Options, expected: str
) -> None:
    assert canonicalise(id_type, raw, **options) == expected
    assert canonicalise(id_type, expected) == expected


# --- refusals -------------------------------------------------------------------------------

REFUSALS: list[tuple[str, str, Options, str]] = [
    ("passport", "ZZZ:X1234567", {}, "unknown country code"),
    ("passport", "X1234567", {}, "no country"),
    ("passport", "X1234567", {"country": "Narnia"}, "unknown country option 'Narnia'"),
    ("passport", "NLD:X1234567", {"country": "BE"}, "conflicts"),
    ("passport", "NLD:XA12345678", {}, "longer than 9"),
    ("passport", "NLD:<<<", {}, "empty document number"),
    ("passport", "NLD:X12345\u00df", {}, "non-ASCII"),
    ("passport", "NLD:X12345_7", {}, "letters A-Z and digits"),
    ("national_id", "NL:111222334", {}, "check digit does not match"),
    ("national_id", "NL:1234567890", {}, "wrong length"),
    ("national_id", "PL:44051401358", {}, "check digit does not match"),
    ("national_id", "SE:880320-0017", {}, "check digit does not match"),
    ("national_id", "IT:RCCMNL83S18D969X", {}, "check digit does not match"),
    ("national_id", "PL:44131401350", {}, "invalid component"),
    ("national_id", "GB:QQ", {}, "4-20 letters"),
    ("national_id", "GB:ABCDEF", {}, "at least one digit"),
    ("national_id", "NL:\u0661\u0661\u0661222333", {}, "non-ASCII"),
    ("phone", "+44 7700 900123", {}, "not a valid number"),
    ("phone", "+44 20", {}, "not a possible number"),
    ("phone", "020 7946 0018", {}, "needs a default region"),
    ("phone", "020 7946 0018", {"default_region": "ZZ"}, "unknown default region 'ZZ'"),
    ("phone", "+44 20 7946 0018 ext. 12", {}, "only digits"),
    ("phone", "+1-800-FLOWERS", {}, "only digits"),
    ("phone", "44+20 7946 0018", {}, "only digits"),
    ("phone", "", {}, "only digits"),
    ("email", "foo.bar@@example.com", {}, "exactly one '@'"),
    ("email", "foo.bar.example.com", {}, "exactly one '@'"),
    ("email", ".foo@example.com", {}, "malformed local part"),
    ("email", '"foo bar"@example.com', {}, "malformed local part"),
    ("email", "foo@example", {}, "malformed domain"),
    ("email", "foo@-example.com", {}, "malformed domain"),
    ("email", "foo@[192.0.2.1]", {}, "malformed domain"),
    ("email", "foo@example.com.", {}, "malformed domain"),
    ("email", "f\u00f6\u00f6@example.com", {}, "non-ASCII"),
    ("iban", "GB82 WEST 1234 5698 7654 33", {}, "check digits do not match"),
    ("iban", "GB82 WEST 1234 5698 7654", {}, "format or length"),
    ("iban", "GB82 1234 1234 5698 7654 32", {}, "format or length"),
    ("iban", "US82 WEST 1234 5698 7654 32", {}, "does not issue IBANs"),
    ("iban", "GB01 WEST 1234 5698 7654 32", {}, "02-98"),
    ("iban", "82 WEST 1234 5698 7654 32", {}, "malformed"),
    ("bic", "DEUTDEF", {}, "8 or 11"),
    ("bic", "DEUTZZFF", {}, "unknown country code"),
    ("bic", "DEU1DEFF", {}, "malformed"),
    ("company", "FR:404833049", {}, "check digit does not match"),
    ("company", "GB:ABC12345", {}, "Companies House"),
    ("company", "NL:1234567", {}, "8 digits"),
    ("company", "DE:HRB 12345", {}, "malformed"),
    ("company", "DE:Nowhere HRB 12345", {}, "invalid component"),
    ("company", "IE:ABC", {}, "at least one digit"),
    ("lei", "5493001KJTIIGC8Y1R13", {}, "check digits do not match"),
    ("lei", "5493001KJTIIGC8Y1R1", {}, "2 check digits"),
    ("container", "CSQU3054384", {}, "check digit does not match"),
    ("container", "CSQA3054383", {}, "category"),
    ("vessel", "IMO 9074728", {}, "check digit does not match"),
    ("vessel", "IMO 90747291", {}, "7 digits"),
    ("vehicle", "AB-123-C", {}, "no country"),
    ("vehicle", "NL:AB_123", {}, "1-12 letters"),
    ("vehicle", "NL:", {}, "1-12 letters"),
    ("person", "Petr Ivanov", {}, "NAME|DATE_OF_BIRTH"),
    ("person", "Petr Ivanov|1979-02-29", {}, "impossible date"),
    ("person", "Petr Ivanov|31.04.1979", {}, "impossible date"),
    ("person", "Petr Ivanov|2999-01-01", {}, "in the future"),
    ("person", "Petr Ivanov|1066-10-14", {}, "before 1880"),
    ("person", "Petr Ivanov|01.03.79", {}, "unrecognised date"),
    ("person", "Petr Ivanov|1979-3-1", {}, "unrecognised date"),
    ("person", "Petr Ivanov|01.03-1979", {}, "unrecognised date"),
    ("person", "Petr Ivanov|1 March 1979", {}, "unrecognised date"),
    ("person", "Dr. Mr.|1979-03-01", {}, "name is empty"),
    ("person", "Petr Ivanov 2nd|1979-03-01", {}, "name contains digits"),
]


@pytest.mark.parametrize(("id_type", "raw", "options", "reason"), REFUSALS)
def test_bad_values_are_refused_with_a_reason_and_without_the_value(
    id_type: str, raw: str, options: Options, reason: str
) -> None:
    assert reason in refusal(id_type, raw, **options).reason


# --- type-specific behaviour ----------------------------------------------------------------


def test_person_value_is_name_and_date_joined_at_the_last_bar() -> None:
    assert canonicalise("person", "Petr Ivanov|1979-03-01") == canonicalise_person(
        "Petr Ivanov", "1979-03-01"
    )
    assert canonicalise("person", "Petr|Ivanov|1979-03-01") == "ivanov petr|1979-03-01"


def test_person_dates_with_slashes_are_read_day_first() -> None:
    assert canonicalise_person("A B", "01/03/1979") == "a b|1979-03-01"
    assert canonicalise_person("A B", "12/11/1979") == "a b|1979-11-12"


def test_person_born_today_is_accepted_and_tomorrow_is_refused() -> None:
    today = date.today()
    assert canonicalise_person("A B", today.isoformat()) == f"a b|{today.isoformat()}"
    with pytest.raises(InvalidIdentifier, match="in the future"):
        canonicalise_person("A B", (today + timedelta(days=1)).isoformat())


def test_person_single_letters_are_initials_not_honorifics() -> None:
    assert canonicalise_person("Jean M Dupont", "1970-01-01") == "dupont jean m|1970-01-01"
    assert canonicalise_person("M. Jean Dupont", "1970-01-01") == "dupont jean m|1970-01-01"


def test_person_names_in_other_scripts_are_transliterated() -> None:
    assert canonicalise_person("\u0418\u0432\u0430\u043d\u043e\u0432 \u041f\u0451\u0442\u0440",
                               "1979-03-01") == "ivanov piotr|1979-03-01"  # fmt: skip
    assert canonicalise_person("Stra\u00dfe M\u00fcller", "1979-03-01") == (
        "muller strasse|1979-03-01"
    )


def test_swedish_plus_sign_puts_the_birth_a_century_earlier() -> None:
    assert canonicalise("national_id", "SE:880320+0016") == "SE:188803200016"


def test_finnish_century_sign_is_kept_so_1900_and_2000_births_stay_apart() -> None:
    assert canonicalise("national_id", "FI:010100-123D") == "FI:010100-123D"
    assert canonicalise("national_id", "FI:010100A123D") == "FI:010100A123D"


def test_bic_primary_office_is_the_eight_character_form() -> None:
    assert canonicalise("bic", "NEDSZAJJXXX") == canonicalise("bic", "NEDSZAJJ") == "NEDSZAJJ"


def test_options_a_type_does_not_use_are_ignored() -> None:
    assert canonicalise("iban", "GB82WEST12345698765432", country="nowhere") == (
        "GB82WEST12345698765432"
    )
    assert canonicalise("passport", "NLD:X1234567", default_region="nowhere") == "NLD:X1234567"


def test_phone_repeated_lookups_give_the_same_answer() -> None:
    first = canonicalise("phone", "020 7946 0018", default_region="GB")
    assert canonicalise("phone", "020 7946 0018", default_region="GB") == first
    with pytest.raises(InvalidIdentifier):
        canonicalise("phone", "020 7946 0018")
    with pytest.raises(InvalidIdentifier):
        canonicalise("phone", "+44 7700 900123")
    with pytest.raises(InvalidIdentifier):
        canonicalise("phone", "+44 7700 900123")


def test_email_keeps_dots_and_tags_of_the_local_part() -> None:
    assert canonicalise("email", "J.Doe+Tag@GMail.com") == "j.doe+tag@gmail.com"
    assert canonicalise("email", "jdoe@gmail.com") != canonicalise("email", "j.doe@gmail.com")
