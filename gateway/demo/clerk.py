"""The clerk who types identifiers into an agency's system: every value is checked against the
common vocabulary as it is written, so the demo data holds exactly the invalid values it means
to (about one slip in a hundred) and never, by chance, one of the planted network's values."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable

from connectors.vocabulary import InvalidIdentifier, canonicalise, canonicalise_person

SLIP_RATE = 0.01
_ATTEMPTS = 200

Reserved = frozenset[tuple[str, str]]
"""``(identifier type, canonical value)`` pairs that background data must never produce."""


class Clerk:
    """Writes one agency's identifiers: ``write`` renders a value with the agency's formatting
    habits and, at ``slip_rate``, a deliberately broken one instead. ``written`` and ``slipped``
    count what was produced per identifier type."""

    def __init__(
        self, rng: random.Random, reserved: Reserved, *, slip_rate: float = SLIP_RATE
    ) -> None:
        self.rng = rng
        self.reserved = reserved
        self.slip_rate = slip_rate
        self.written: Counter[str] = Counter()
        self.slipped: Counter[str] = Counter()

    def slips(self) -> bool:
        return self.rng.random() < self.slip_rate

    def fresh(self, id_type: str, draw: Callable[[], str], *, region: str | None = None) -> str:
        """A value from ``draw`` that is valid and not reserved (drawn again until it is)."""
        for _ in range(_ATTEMPTS):
            raw = draw()
            canonical = canonical_or_none(id_type, raw, region)
            if canonical is not None and (id_type, canonical) not in self.reserved:
                return raw
        raise RuntimeError(f"no valid {id_type} drawn in {_ATTEMPTS} attempts: vocabulary changed?")

    def broken(self, id_type: str, draw: Callable[[], str], *, region: str | None = None) -> str:
        """A value from ``draw`` that the vocabulary refuses (drawn again until it does)."""
        for _ in range(_ATTEMPTS):
            raw = draw()
            if canonical_or_none(id_type, raw, region) is None:
                self.slipped[id_type] += 1
                return raw
        raise RuntimeError(f"no invalid {id_type} drawn in {_ATTEMPTS} attempts")

    def write(
        self,
        id_type: str,
        fair: Callable[[], str],
        slip: Callable[[], str],
        *,
        region: str | None = None,
    ) -> str:
        """One written value: ``fair`` renders it properly, ``slip`` with a mistake."""
        self.written[id_type] += 1
        if self.slips():
            return self.broken(id_type, slip, region=region)
        return self.fresh(id_type, fair, region=region)

    def person(
        self,
        draw: Callable[[], tuple[str, str]],
        slip: Callable[[str], str],
    ) -> tuple[str, str]:
        """A ``(name, date of birth)`` pair as written; a slip mistypes the date of birth."""
        self.written["person"] += 1
        for _ in range(_ATTEMPTS):
            name, born = draw()
            canonical = person_or_none(name, born)
            if canonical is None or ("person", canonical) in self.reserved:
                continue
            if not self.slips():
                return name, born
            for _ in range(_ATTEMPTS):
                typo = slip(born)
                if person_or_none(name, typo) is None:
                    self.slipped["person"] += 1
                    return name, typo
        raise RuntimeError(f"no valid person drawn in {_ATTEMPTS} attempts")


def canonical_or_none(id_type: str, raw: str, region: str | None = None) -> str | None:
    """The canonical form of ``raw``, or ``None`` when the vocabulary refuses it."""
    try:
        return canonicalise(id_type, raw, default_region=region)
    except InvalidIdentifier:
        return None


def person_or_none(name: str, date_of_birth: str) -> str | None:
    try:
        return canonicalise_person(name, date_of_birth)
    except InvalidIdentifier:
        return None
