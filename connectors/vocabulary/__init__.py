"""The common identifier vocabulary, version 1: how every node turns a raw identifier into the
one canonical string that is then blinded into a match token.

Tokens only match if every node canonicalises identically, so the rules here are a published
specification (docs/vocabulary.md, with test vectors in docs/vocabulary_vectors.json); a change
to any canonical form is a new vocabulary version, never an edit to this one.

Exceptions::

    ValueError
    ├── InvalidIdentifier       the value is not a valid identifier of its type
    └── UnknownIdentifierType   the type is not in the vocabulary
"""

from __future__ import annotations

from connectors.vocabulary._common import (
    Canonicaliser,
    InvalidIdentifier,
    UnknownIdentifierType,
)
from connectors.vocabulary._contact import email, phone
from connectors.vocabulary._documents import national_id, passport
from connectors.vocabulary._finance import bic, company, iban, lei
from connectors.vocabulary._person import canonicalise_person, person
from connectors.vocabulary._transport import container, vehicle, vessel

__all__ = [
    "IDENTIFIER_TYPES",
    "VOCABULARY_VERSION",
    "InvalidIdentifier",
    "UnknownIdentifierType",
    "canonicalise",
    "canonicalise_person",
]

VOCABULARY_VERSION: int = 1

_CANONICALISERS: dict[str, Canonicaliser] = {
    "passport": passport,
    "national_id": national_id,
    "phone": phone,
    "email": email,
    "iban": iban,
    "bic": bic,
    "company": company,
    "lei": lei,
    "container": container,
    "vessel": vessel,
    "vehicle": vehicle,
    "person": person,
}

IDENTIFIER_TYPES: tuple[str, ...] = tuple(_CANONICALISERS)


def canonicalise(
    id_type: str,
    raw: str,
    *,
    default_region: str | None = None,
    country: str | None = None,
) -> str:
    """The canonical form of ``raw`` as an identifier of ``id_type``.

    ``default_region`` (ISO 3166 alpha-2) places national-format phone numbers;
    ``country`` (alpha-2 or alpha-3) places passports, national ids, company numbers and
    plates whose value does not carry a ``CC:`` prefix. Options a type does not use are
    ignored. Raises InvalidIdentifier (never naming the value) or UnknownIdentifierType.
    """
    canonicaliser = _CANONICALISERS.get(id_type)
    if canonicaliser is None:
        raise UnknownIdentifierType(id_type, IDENTIFIER_TYPES)
    if not isinstance(raw, str):
        raise InvalidIdentifier(id_type, "value must be a string")
    return canonicaliser(raw, default_region, country)
