"""The vocabulary's own fast checks (IBAN, BIC, LEI, container, vessel) agree with
python-stdnum, the reference they replace on the indexing path; and every stdnum module the
vocabulary relies on accepts its own documented examples through ``canonicalise``."""

from __future__ import annotations

import re
import string
from importlib import import_module

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum import bic as stdnum_bic
from stdnum import iban as stdnum_iban
from stdnum import imo as stdnum_imo
from stdnum import iso6346 as stdnum_iso6346
from stdnum import lei as stdnum_lei
from stdnum import numdb
from stdnum.iso7064 import mod_97_10

from connectors.vocabulary import InvalidIdentifier, canonicalise
from connectors.vocabulary._countries import ALPHA2_TO_ALPHA3
from connectors.vocabulary._documents import _NATIONAL_ID_MODULES
from connectors.vocabulary._finance import _COMPANY_MODULES, IBAN_BBAN_PATTERNS

UPPER, DIGITS = string.ascii_uppercase, string.digits
DIFFERENTIAL = settings(deadline=None, max_examples=400)


def accepts(id_type: str, value: str) -> bool:
    try:
        canonicalise(id_type, value)
    except InvalidIdentifier:
        return False
    return True


@st.composite
def iban_candidates(draw: st.DrawFn) -> str:
    """Mostly well-formed IBANs, some with a character or the check digits disturbed."""
    country = draw(st.sampled_from([*sorted(IBAN_BBAN_PATTERNS), "US", "ZZ"]))
    pattern = IBAN_BBAN_PATTERNS.get(country, IBAN_BBAN_PATTERNS["GB"])
    bban = draw(st.from_regex(pattern, fullmatch=True))
    check = mod_97_10.calc_check_digits(bban + country)
    value = country + check + bban
    mutation = draw(st.sampled_from(["none", "char", "check", "drop"]))
    if mutation == "char":
        at = draw(st.integers(4, len(value) - 1))
        value = value[:at] + draw(st.sampled_from(UPPER + DIGITS)) + value[at + 1 :]
    elif mutation == "check":
        value = value[:2] + draw(st.text(DIGITS, min_size=2, max_size=2)) + value[4:]
    elif mutation == "drop":
        value = value[:-1]
    return value


@DIFFERENTIAL
@given(iban_candidates())
def test_iban_check_agrees_with_stdnum(value: str) -> None:
    reference = stdnum_iban.is_valid(value, check_country=False)
    if value[2:4] in ("00", "01", "99"):
        assert not accepts("iban", value)  # stricter than stdnum, on purpose (see the spec)
    else:
        assert accepts("iban", value) == reference


def test_iban_registry_covers_every_country_stdnum_knows() -> None:
    registry = numdb.get("iban")
    stdnum_countries = {code for code in ALPHA2_TO_ALPHA3 if registry.info(code)[0][1].get("bban")}
    assert set(IBAN_BBAN_PATTERNS) == stdnum_countries


@DIFFERENTIAL
@given(
    st.text(UPPER + DIGITS, min_size=4, max_size=4),
    st.sampled_from([*sorted(ALPHA2_TO_ALPHA3), "ZZ", "Q1"]),
    st.text(UPPER + DIGITS, min_size=2, max_size=2),
    st.sampled_from(["", "XXX", "500", "A1B", "12"]),
)
def test_bic_check_agrees_with_stdnum(bank: str, country: str, place: str, branch: str) -> None:
    value = bank + country + place + branch
    assert accepts("bic", value) == stdnum_bic.is_valid(value)


@DIFFERENTIAL
@given(st.text(UPPER + DIGITS, min_size=18, max_size=18), st.integers(0, 99))
def test_lei_check_agrees_with_stdnum(body: str, check: int) -> None:
    value = f"{body}{check:02d}"
    assert accepts("lei", value) == stdnum_lei.is_valid(value)


@DIFFERENTIAL
@given(
    st.text(UPPER, min_size=3, max_size=3),
    st.sampled_from("UJZR"),
    st.text(DIGITS, min_size=7, max_size=7),
)
def test_container_check_agrees_with_stdnum(owner: str, category: str, digits: str) -> None:
    value = owner + category + digits
    assert accepts("container", value) == stdnum_iso6346.is_valid(value)


@DIFFERENTIAL
@given(st.text(DIGITS, min_size=7, max_size=7))
def test_vessel_check_agrees_with_stdnum(digits: str) -> None:
    assert accepts("vessel", digits) == stdnum_imo.is_valid(digits)


def documented_examples(module_name: str) -> list[str]:
    """The valid examples a stdnum module's docstring shows for ``validate``."""
    doc = import_module(f"stdnum.{module_name}").__doc__ or ""
    found = re.findall(r">>> validate\('([^']*)'\)\n(\S.*)", doc)
    return [example for example, output in found if not output.startswith("Traceback")]


MODULE_EXAMPLES = [
    (id_type, country, example)
    for id_type, table in (("national_id", _NATIONAL_ID_MODULES), ("company", _COMPANY_MODULES))
    for country, name in sorted(table.items())
    for example in documented_examples(name)
]


@pytest.mark.parametrize(("id_type", "country", "example"), MODULE_EXAMPLES)
def test_stdnum_documented_examples_are_accepted_and_stable(
    id_type: str, country: str, example: str
) -> None:
    canonical = canonicalise(id_type, example, country=country)
    assert canonical.startswith(f"{country}:")
    assert re.fullmatch(r"[A-Z]{2}:[A-Z0-9]+", canonical)
    assert canonicalise(id_type, canonical) == canonical


def test_most_modules_have_documented_examples() -> None:
    covered = {(t, c) for t, c, _ in MODULE_EXAMPLES}
    assert len(covered) >= len(_NATIONAL_ID_MODULES) + len(_COMPANY_MODULES) - 6
