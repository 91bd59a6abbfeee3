"""Released answers, kept so that asking the same question again on unchanged data returns
the same figures at no privacy cost (a fresh noisy answer would let a partner average the
noise away). A data refresh bumps the dataset's generation, which starts a new cache.

Identical questions that race are charged once. The first to arrive *claims* the question
(a row in ``aggregate_claims``) in the very transaction that takes its charge; one that finds
the claim taken is not charged. Both compute an answer, but only one is ever kept: the first
``put`` inserts it, releases the claim's charge and removes the claim, and every other caller
gets the kept answer. A claim left by a crash is completed, free, by the next identical
question: its charge was paid for exactly one release of this question.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    DateTime,
    Engine,
    Integer,
    String,
    Table,
    delete,
    select,
    update,
)

from gateway.storage.metadata import metadata
from gateway.storage.statements import insert_ignore

aggregate_generations = Table(
    "aggregate_generations",
    metadata,
    Column("dataset", String(128), primary_key=True),
    Column("generation", Integer, nullable=False),
    Column("refreshed_at", DateTime(timezone=True), nullable=False),
)

aggregate_answers = Table(
    "aggregate_answers",
    metadata,
    Column("partner", String(64), primary_key=True),
    Column("dataset", String(128), primary_key=True),
    Column("generation", Integer, primary_key=True),
    Column("question", String(64), primary_key=True),
    Column("answer", JSON, nullable=False),
    Column("released_at", DateTime(timezone=True), nullable=False),
)


aggregate_claims = Table(
    "aggregate_claims",
    metadata,
    Column("partner", String(64), primary_key=True),
    Column("dataset", String(128), primary_key=True),
    Column("generation", Integer, primary_key=True),
    Column("question", String(64), primary_key=True),
    Column("charge_id", Integer, nullable=True),
    Column("claimed_at", DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True)
class Question:
    """One partner's question on one generation of a dataset (``question`` is the query's
    fingerprint)."""

    partner: str
    dataset: str
    generation: int
    question: str

    def where(self, target: Table) -> list[Any]:
        return [
            target.c.partner == self.partner,
            target.c.dataset == self.dataset,
            target.c.generation == self.generation,
            target.c.question == self.question,
        ]


@dataclass(frozen=True)
class Claim:
    """What ``claim`` found: ``answered`` (an answer is kept: read it), or the charge taken
    (``charge_id``), or neither (an identical question holds the claim and its charge)."""

    answered: bool = False
    charge_id: int | None = None


class AnswerCache:
    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self._engine = engine
        self._clock = clock

    def generation(self, dataset: str) -> int:
        with self._engine.connect() as connection:
            value = connection.execute(
                select(aggregate_generations.c.generation).where(
                    aggregate_generations.c.dataset == dataset
                )
            ).scalar()
        return int(value or 0)

    def refresh(self, dataset: str) -> int:
        """Start a new generation for ``dataset`` (its data changed); returns it."""
        with self._engine.begin() as connection:
            insert_ignore(
                connection,
                aggregate_generations,
                {"dataset": dataset, "generation": 0, "refreshed_at": self._clock()},
            )
            connection.execute(
                update(aggregate_generations)
                .where(aggregate_generations.c.dataset == dataset)
                .values(
                    generation=aggregate_generations.c.generation + 1,
                    refreshed_at=self._clock(),
                )
            )
            value = connection.execute(
                select(aggregate_generations.c.generation).where(
                    aggregate_generations.c.dataset == dataset
                )
            ).scalar_one()
        return int(value)

    def get(self, question: Question) -> dict[str, Any] | None:
        with self._engine.connect() as connection:
            return self._kept(connection, question)

    @staticmethod
    def _kept(connection: Connection, question: Question) -> dict[str, Any] | None:
        answer = connection.execute(
            select(aggregate_answers.c.answer).where(*question.where(aggregate_answers))
        ).scalar()
        return dict(answer) if answer is not None else None

    def claim(self, question: Question, charge: Callable[[Connection], int]) -> Claim:
        """Claim ``question`` and take its charge (``charge`` returns the charge's id) in one
        transaction, unless an answer is already kept or the question already claimed."""
        with self._engine.begin() as connection:
            claimed = insert_ignore(
                connection,
                aggregate_claims,
                {
                    "partner": question.partner,
                    "dataset": question.dataset,
                    "generation": question.generation,
                    "question": question.question,
                    "charge_id": None,
                    "claimed_at": self._clock(),
                },
            )
            if self._kept(connection, question) is not None:
                if claimed:  # the answer was kept between our read and this transaction
                    connection.execute(
                        delete(aggregate_claims).where(*question.where(aggregate_claims))
                    )
                return Claim(answered=True)
            if not claimed:
                return Claim()
            charge_id = charge(connection)
            connection.execute(
                update(aggregate_claims)
                .where(*question.where(aggregate_claims))
                .values(charge_id=charge_id)
            )
        return Claim(charge_id=charge_id)

    def put(
        self,
        question: Question,
        answer: dict[str, Any],
        release: Callable[[Connection, int], None],
    ) -> dict[str, Any]:
        """Keep ``answer`` unless an identical question's answer was kept first, and in the same
        transaction release the claim's charge (``release``) and drop the claim; return the
        answer kept."""
        with self._engine.begin() as connection:
            insert_ignore(
                connection,
                aggregate_answers,
                {
                    "partner": question.partner,
                    "dataset": question.dataset,
                    "generation": question.generation,
                    "question": question.question,
                    "answer": answer,
                    "released_at": self._clock(),
                },
            )
            charge_id = connection.execute(
                select(aggregate_claims.c.charge_id).where(*question.where(aggregate_claims))
            ).scalar()
            if charge_id is not None:
                release(connection, int(charge_id))
            connection.execute(delete(aggregate_claims).where(*question.where(aggregate_claims)))
            kept = self._kept(connection, question)
        return kept if kept is not None else answer
