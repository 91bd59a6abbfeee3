"""The published vocabulary vectors (docs/vocabulary_vectors.json) reproduce exactly, and the
specification's tables (docs/vocabulary.md) say the same as the JSON and the code, so that
neither can drift from the other."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from pathlib import Path
from typing import Any

import pytest

from connectors.vocabulary import (
    IDENTIFIER_TYPES,
    VOCABULARY_VERSION,
    InvalidIdentifier,
    canonicalise,
)
from connectors.vocabulary._countries import ALPHA2_TO_ALPHA3
from connectors.vocabulary._documents import _NATIONAL_ID_MODULES
from connectors.vocabulary._finance import _COMPANY_MODULES, IBAN_BBAN_PATTERNS
from crypto.tokens import MATCH_KEY_SALT, derive_match_key, match_key_info, match_token

DOCS = Path(__file__).resolve().parents[2] / "docs"
SPEC = (DOCS / "vocabulary.md").read_text(encoding="utf-8")
VECTORS: dict[str, Any] = json.loads((DOCS / "vocabulary_vectors.json").read_text("utf-8"))
SECRET = bytes.fromhex(VECTORS["secret_hex"])


def _case_id(vector: dict[str, Any]) -> str:
    return f"{vector['type']}:{vector['raw']!r}"


def rfc5869_hkdf_sha256(secret: bytes, salt: bytes, info: bytes, length: int) -> bytes:
    """HKDF written out from RFC 5869 with the standard library, independent of crypto/."""
    prk = hmac.new(salt, secret, hashlib.sha256).digest()
    okm, block, counter = b"", b"", 1
    while len(okm) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        okm += block
        counter += 1
    return okm[:length]


# --- the JSON vectors -----------------------------------------------------------------------


def test_vectors_use_the_documented_secret_epoch_and_derivation() -> None:
    assert SECRET == bytes(range(32))
    assert VECTORS["epoch"] == 0
    assert VECTORS["vocabulary"] == VOCABULARY_VERSION
    assert VECTORS["hkdf_salt"].encode("ascii") == MATCH_KEY_SALT
    assert VECTORS["hkdf_info"] == "cordon/match/vocabulary=1/type=<type>/epoch=<epoch>"
    assert match_key_info("phone", 0, 1) == b"cordon/match/vocabulary=1/type=phone/epoch=0"


@pytest.mark.parametrize("id_type", IDENTIFIER_TYPES)
def test_published_keys_follow_rfc5869_and_match_crypto_tokens(id_type: str) -> None:
    info = VECTORS["hkdf_info"].replace("<type>", id_type).replace("<epoch>", "0")
    expected = rfc5869_hkdf_sha256(SECRET, MATCH_KEY_SALT, info.encode("ascii"), 32)
    assert VECTORS["keys"][id_type] == expected.hex()
    assert derive_match_key(SECRET, id_type, 0, VOCABULARY_VERSION) == expected


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=_case_id)
def test_vector_reproduces_canonical_form_and_token(vector: dict[str, Any]) -> None:
    canonical = canonicalise(vector["type"], vector["raw"], **vector["options"])
    assert canonical == vector["canonical"]
    key = derive_match_key(SECRET, vector["type"], VECTORS["epoch"], VOCABULARY_VERSION)
    assert match_token(key, canonical).hex() == vector["token"]
    expected = hmac.new(key, canonical.encode("utf-8"), hashlib.sha256).hexdigest()
    assert vector["token"] == expected


@pytest.mark.parametrize("vector", VECTORS["refused"], ids=_case_id)
def test_refused_vector_is_refused_for_the_published_reason(vector: dict[str, Any]) -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        canonicalise(vector["type"], vector["raw"], **vector["options"])
    assert caught.value.id_type == vector["type"]
    assert vector["reason_contains"] in caught.value.reason


def test_every_type_has_three_vectors_and_a_refusal() -> None:
    for id_type in IDENTIFIER_TYPES:
        accepted = [v for v in VECTORS["vectors"] if v["type"] == id_type]
        assert len(accepted) >= 3, id_type
        assert len({v["raw"] for v in accepted}) == len(accepted), id_type
        assert any(v["type"] == id_type for v in VECTORS["refused"]), id_type


def test_only_known_options_appear_in_vectors() -> None:
    for vector in VECTORS["vectors"] + VECTORS["refused"]:
        assert set(vector["options"]) <= {"default_region", "country"}


# --- the markdown tables say the same as the JSON -------------------------------------------


def section_rows(name: str) -> list[list[str]]:
    """The cells of the table between <!-- BEGIN name --> and <!-- END name -->, without the
    header and rule rows; ``\\|`` inside a cell is a literal bar."""
    match = re.search(rf"<!-- BEGIN {name} -->\n(.*?)<!-- END {name} -->", SPEC, re.DOTALL)
    assert match is not None, f"section {name} missing from docs/vocabulary.md"
    lines = [line for line in match.group(1).splitlines() if line.startswith("|")]
    rows = [
        [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", line)[1:-1]]
        for line in lines
    ]
    return rows[2:]


def code(cell: str) -> str:
    assert cell.startswith("`") and cell.endswith("`"), cell
    return cell[1:-1]


def options_cell(cell: str) -> dict[str, str]:
    if cell == "—":
        return {}
    return dict(part.split("=", 1) for part in cell.split(", "))


def test_markdown_accepted_table_matches_json() -> None:
    rows = [
        {
            "type": row[0],
            "raw": json.loads(code(row[1])),
            "options": options_cell(row[2]),
            "canonical": json.loads(code(row[3])),
            "token": code(row[4]),
        }
        for row in section_rows("accepted")
    ]
    assert rows == VECTORS["vectors"]


def test_markdown_refused_table_matches_json() -> None:
    rows = [
        {
            "type": row[0],
            "raw": json.loads(code(row[1])),
            "options": options_cell(row[2]),
            "reason_contains": row[3],
        }
        for row in section_rows("refused")
    ]
    assert rows == VECTORS["refused"]


def test_markdown_keys_table_matches_json() -> None:
    assert {row[0]: code(row[1]) for row in section_rows("keys")} == VECTORS["keys"]


def test_markdown_module_tables_match_the_code() -> None:
    def modules(name: str) -> dict[str, str]:
        return {row[0]: code(row[1]).removeprefix("stdnum.") for row in section_rows(name)}

    assert modules("national-id-modules") == _NATIONAL_ID_MODULES
    assert modules("company-modules") == _COMPANY_MODULES


def test_markdown_iban_registry_matches_the_code() -> None:
    rows = section_rows("iban-registry")
    assert [row[0] for row in rows] == list(IBAN_BBAN_PATTERNS)
    for country, length, _structure in rows:
        bban_length = int(length) - 4
        sample = re.sub(r"\[[^]]*\]\{(\d+)\}", lambda m: "0" * int(m.group(1)),
                        IBAN_BBAN_PATTERNS[country].pattern)  # fmt: skip
        assert len(sample) == bban_length, country


def test_markdown_country_list_matches_the_code() -> None:
    match = re.search(r"<!-- BEGIN countries -->\n```\n(.*?)```", SPEC, re.DOTALL)
    assert match is not None
    pairs = dict(pair.split("/") for pair in match.group(1).split())
    assert pairs == ALPHA2_TO_ALPHA3
