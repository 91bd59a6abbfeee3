from __future__ import annotations

import copy
import json
import random
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from crypto.errors import InvalidSignature
from crypto.keys import b64url_decode, b64url_encode, generate_signing_key, key_id
from crypto.signed import (
    MAX_SAFE_INTEGER,
    canonical_json,
    sign_bytes,
    sign_document,
    verify_bytes,
    verify_document,
)

REFUSED = "signature verification failed"
PAYLOAD: dict[str, Any] = {
    "federation": "eu-test",
    "members": [{"agency": "police-nl", "active": True, "weight": 3}],
    "note": None,
    "naïve": "ünïcödé",
}


@pytest.fixture(scope="module")
def key() -> Ed25519PrivateKey:
    return generate_signing_key()


@pytest.fixture(scope="module")
def other_key() -> Ed25519PrivateKey:
    return generate_signing_key()


# --- canonical_json ---------------------------------------------------------------------


def test_canonical_json_sorts_keys_and_drops_whitespace() -> None:
    assert canonical_json({"b": [1, {"d": None, "c": True}], "a": "x"}) == (
        b'{"a":"x","b":[1,{"c":true,"d":null}]}'
    )


def test_canonical_json_writes_non_ascii_as_utf8() -> None:
    assert canonical_json({"k": "é€"}) == '{"k":"é€"}'.encode()


def test_canonical_json_rfc8785_sorting_vector() -> None:
    # RFC 8785 section 3.2.3: members sorted by UTF-16 code units. The emoji (surrogates
    # D83D DE00) sorts before U+FB33; Python's sort_keys (code points) puts it after.
    source = (
        '{"\\u20ac": "Euro Sign", "\\r": "Carriage Return", '
        '"\\ufb33": "Hebrew Letter Dalet With Dagesh", "1": "One", '
        '"\\ud83d\\ude00": "Emoji: Grinning Face", "\\u0080": "Control", '
        '"\\u00f6": "Latin Small Letter O With Diaeresis"}'
    )
    expected = (
        '{"\\r":"Carriage Return","1":"One","\u0080":"Control",'
        '"\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign",'
        '"\U0001f600":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}'
    )
    assert canonical_json(json.loads(source)) == expected.encode("utf-8")


def test_canonical_json_rfc8785_string_escaping_vector() -> None:
    # RFC 8785 section 3.2.2 sample, without its "numbers" member (no floats here).
    source = (
        '{"string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", '
        '"literals": [null, true, false]}'
    )
    expected = r"""{"literals":[null,true,false],"string":"€$\u000f\nA'B\"\\\\\"/"}"""
    assert canonical_json(json.loads(source)) == expected.encode("utf-8")


def test_canonical_json_refuses_floats() -> None:
    with pytest.raises(TypeError, match="no floats"):
        canonical_json({"score": 0.5})
    with pytest.raises(TypeError, match="no floats"):
        canonical_json([1, [2.0]])


@pytest.mark.parametrize("value", [MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER, 0, -1])
def test_canonical_json_accepts_i_json_integers(value: int) -> None:
    assert canonical_json(value) == str(value).encode()


@pytest.mark.parametrize("value", [MAX_SAFE_INTEGER + 1, -MAX_SAFE_INTEGER - 1, 10**30])
def test_canonical_json_refuses_integers_beyond_i_json(value: int) -> None:
    with pytest.raises(ValueError, match="I-JSON"):
        canonical_json({"n": value})


@pytest.mark.parametrize(
    "value",
    [{1: "int key"}, (1, 2), {1, 2}, b"bytes", {"nested": object()}],
    ids=["int-key", "tuple", "set", "bytes", "object"],
)
def test_canonical_json_refuses_non_json_types(value: object) -> None:
    with pytest.raises(TypeError):
        canonical_json(value)


def test_canonical_json_refuses_lone_surrogates() -> None:
    with pytest.raises(ValueError):
        canonical_json({"k": "\ud800"})


def test_canonical_json_refuses_absurd_nesting() -> None:
    deep: list[Any] = []
    for _ in range(100):
        deep = [deep]
    with pytest.raises(ValueError, match="nested deeper"):
        canonical_json(deep)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=6)
    ),
    max_leaves=40,
)


def _reordered(value: Any, rnd: random.Random) -> Any:
    """An equal value whose dicts were built in a different insertion order."""
    if isinstance(value, dict):
        items = list(value.items())
        rnd.shuffle(items)
        return {name: _reordered(item, rnd) for name, item in items}
    if isinstance(value, list):
        return [_reordered(item, rnd) for item in value]
    return value


@given(value=json_values, rnd=st.randoms(use_true_random=False))
def test_canonical_json_is_independent_of_insertion_order(value: Any, rnd: random.Random) -> None:
    shuffled = _reordered(value, rnd)
    assert shuffled == value
    assert canonical_json(shuffled) == canonical_json(value)


@given(value=json_values)
def test_canonical_json_parses_back_to_an_equal_value_and_is_a_fixed_point(value: Any) -> None:
    encoded = canonical_json(value)
    assert json.loads(encoded) == value
    assert canonical_json(json.loads(encoded)) == encoded


# --- signed documents -------------------------------------------------------------------


def test_signed_document_round_trip(key: Ed25519PrivateKey) -> None:
    doc = sign_document(PAYLOAD, key, context="manifest")
    assert verify_document(doc, key.public_key(), context="manifest") == PAYLOAD
    assert doc["signature"]["alg"] == "EdDSA"
    assert doc["signature"]["key_id"] == key_id(key.public_key())
    assert doc["signature"]["context"] == "manifest"


def test_signed_document_survives_a_json_round_trip(key: Ed25519PrivateKey) -> None:
    wire = json.dumps(sign_document(PAYLOAD, key, context="manifest"), indent=2)
    assert verify_document(json.loads(wire), key.public_key(), context="manifest") == PAYLOAD


def test_signature_covers_the_documented_domain_separated_bytes(key: Ed25519PrivateKey) -> None:
    doc = sign_document({"b": 1, "a": [True]}, key, context="manifest")
    signed = b'cordon-signed-v1\x00manifest\x00{"a":[true],"b":1}'
    key.public_key().verify(b64url_decode(doc["signature"]["value"]), signed)


def test_signed_document_holds_a_copy_of_the_payload(key: Ed25519PrivateKey) -> None:
    payload = copy.deepcopy(PAYLOAD)
    doc = sign_document(payload, key, context="manifest")
    payload["members"][0]["agency"] = "someone-else"
    assert verify_document(doc, key.public_key(), context="manifest") == PAYLOAD


def test_sign_document_refuses_floats(key: Ed25519PrivateKey) -> None:
    with pytest.raises(TypeError, match="no floats"):
        sign_document({"epsilon": 0.1}, key, context="manifest")


def test_altered_payload_is_refused(key: Ed25519PrivateKey) -> None:
    doc = sign_document(PAYLOAD, key, context="manifest")
    doc["payload"]["members"][0]["active"] = False
    with pytest.raises(InvalidSignature):
        verify_document(doc, key.public_key(), context="manifest")


def test_added_payload_member_is_refused(key: Ed25519PrivateKey) -> None:
    doc = sign_document(PAYLOAD, key, context="manifest")
    doc["payload"]["extra"] = 1
    with pytest.raises(InvalidSignature):
        verify_document(doc, key.public_key(), context="manifest")


def test_document_signed_by_another_key_is_refused(
    key: Ed25519PrivateKey, other_key: Ed25519PrivateKey
) -> None:
    doc = sign_document(PAYLOAD, other_key, context="manifest")
    with pytest.raises(InvalidSignature):
        verify_document(doc, key.public_key(), context="manifest")


def test_another_keys_signature_is_refused_even_under_the_right_key_id(
    key: Ed25519PrivateKey, other_key: Ed25519PrivateKey
) -> None:
    doc = sign_document(PAYLOAD, other_key, context="manifest")
    doc["signature"]["key_id"] = key_id(key.public_key())
    with pytest.raises(InvalidSignature):
        verify_document(doc, key.public_key(), context="manifest")


def test_document_for_another_context_is_refused(key: Ed25519PrivateKey) -> None:
    doc = sign_document(PAYLOAD, key, context="match-answer")
    with pytest.raises(InvalidSignature):
        verify_document(doc, key.public_key(), context="manifest")


def test_relabelling_the_context_field_does_not_move_a_signature(key: Ed25519PrivateKey) -> None:
    doc = sign_document(PAYLOAD, key, context="match-answer")
    doc["signature"]["context"] = "manifest"
    with pytest.raises(InvalidSignature):
        verify_document(doc, key.public_key(), context="manifest")


def _malformations(doc: dict[str, Any]) -> dict[str, object]:
    sig = doc["signature"]
    value = b64url_decode(sig["value"])
    return {
        "not-a-dict": [doc],
        "no-signature": {"payload": doc["payload"]},
        "no-payload": {"signature": sig},
        "extra-top-level": {**doc, "unsigned": "smuggled"},
        "payload-list": {"payload": [doc["payload"]], "signature": sig},
        "signature-string": {"payload": doc["payload"], "signature": sig["value"]},
        "signature-missing-alg": {**doc, "signature": {k: v for k, v in sig.items() if k != "alg"}},
        "signature-extra-field": {**doc, "signature": {**sig, "x5u": "https://evil"}},
        "alg-none": {**doc, "signature": {**sig, "alg": "none"}},
        "value-not-string": {**doc, "signature": {**sig, "value": 12}},
        "value-padded": {**doc, "signature": {**sig, "value": sig["value"] + "=="}},
        "value-truncated": {**doc, "signature": {**sig, "value": b64url_encode(value[:63])}},
        "value-empty": {**doc, "signature": {**sig, "value": ""}},
        "float-in-payload": {"payload": {**doc["payload"], "x": 1.5}, "signature": sig},
    }


MALFORMATIONS = list(_malformations(sign_document(PAYLOAD, generate_signing_key(), context="m")))


@pytest.mark.parametrize("case", MALFORMATIONS)
def test_malformed_document_is_refused_with_the_one_message(
    key: Ed25519PrivateKey, case: str
) -> None:
    doc = sign_document(PAYLOAD, key, context="manifest")
    bad = _malformations(doc)[case]
    with pytest.raises(InvalidSignature) as caught:
        verify_document(bad, key.public_key(), context="manifest")
    assert caught.value.args == (REFUSED,)


def test_signature_in_the_standard_base64_alphabet_is_refused(key: Ed25519PrivateKey) -> None:
    # A lenient decoder maps "+/" and "-_" to the same bytes; the strict one must not.
    for nonce in range(1000):
        doc = sign_document({**PAYLOAD, "nonce": nonce}, key, context="manifest")
        value = doc["signature"]["value"]
        if "-" in value or "_" in value:
            break
    doc["signature"]["value"] = value.replace("-", "+").replace("_", "/")
    with pytest.raises(InvalidSignature):
        verify_document(doc, key.public_key(), context="manifest")


def test_every_document_refusal_has_the_same_message(
    key: Ed25519PrivateKey, other_key: Ed25519PrivateKey
) -> None:
    good = sign_document(PAYLOAD, key, context="manifest")
    altered = copy.deepcopy(good)
    altered["payload"]["note"] = "changed"
    attempts: list[tuple[object, str]] = [
        (altered, "manifest"),
        (sign_document(PAYLOAD, other_key, context="manifest"), "manifest"),
        (good, "match-answer"),
        ({"payload": PAYLOAD}, "manifest"),
    ]
    messages = set()
    for doc, context in attempts:
        with pytest.raises(InvalidSignature) as caught:
            verify_document(doc, key.public_key(), context=context)
        messages.add(str(caught.value))
    assert messages == {REFUSED}


@pytest.mark.parametrize("context", ["", "Manifest", "a\x00b", "with space", "x" * 65])
def test_badly_formed_context_is_a_caller_error(key: Ed25519PrivateKey, context: str) -> None:
    with pytest.raises(ValueError, match="signature context"):
        sign_document(PAYLOAD, key, context=context)
    with pytest.raises(ValueError, match="signature context"):
        sign_bytes(b"body", key, context=context)


# --- signed bytes -----------------------------------------------------------------------

BODY = b'{"status":"hit","tokens":["a1b2"]}\n'


def test_signed_bytes_round_trip(key: Ed25519PrivateKey) -> None:
    signature = sign_bytes(BODY, key, context="match-answer")
    verify_bytes(BODY, signature, key.public_key(), context="match-answer")
    key.public_key().verify(
        b64url_decode(signature), b"cordon-signed-v1\x00match-answer\x00" + BODY
    )


def test_altered_bytes_are_refused(key: Ed25519PrivateKey) -> None:
    signature = sign_bytes(BODY, key, context="match-answer")
    with pytest.raises(InvalidSignature):
        verify_bytes(
            BODY.replace(b"hit", b"nohit"), signature, key.public_key(), context="match-answer"
        )


def test_bytes_signed_for_another_context_are_refused(key: Ed25519PrivateKey) -> None:
    signature = sign_bytes(BODY, key, context="aggregate-answer")
    with pytest.raises(InvalidSignature):
        verify_bytes(BODY, signature, key.public_key(), context="match-answer")


def test_bytes_signed_by_another_key_are_refused(
    key: Ed25519PrivateKey, other_key: Ed25519PrivateKey
) -> None:
    signature = sign_bytes(BODY, other_key, context="match-answer")
    with pytest.raises(InvalidSignature):
        verify_bytes(BODY, signature, key.public_key(), context="match-answer")


@pytest.mark.parametrize("signature", ["", "not base64!", "AAAA", "A" * 86 + "=="])
def test_malformed_byte_signature_is_refused_with_the_one_message(
    key: Ed25519PrivateKey, signature: str
) -> None:
    with pytest.raises(InvalidSignature) as caught:
        verify_bytes(BODY, signature, key.public_key(), context="match-answer")
    assert caught.value.args == (REFUSED,)
