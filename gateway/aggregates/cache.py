"""Released answers, kept so that asking the same question again on unchanged data returns
the same figures at no privacy cost (a fresh noisy answer would let a partner average the
noise away). A data refresh bumps the dataset's generation, which starts a new cache."""

from __future__ import annotations

from collections.abc import Callable
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
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from gateway.storage.metadata import metadata

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
            self._insert_ignore(
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

    def get(
        self, partner: str, dataset: str, generation: int, question: str
    ) -> dict[str, Any] | None:
        with self._engine.connect() as connection:
            answer = connection.execute(
                select(aggregate_answers.c.answer).where(
                    aggregate_answers.c.partner == partner,
                    aggregate_answers.c.dataset == dataset,
                    aggregate_answers.c.generation == generation,
                    aggregate_answers.c.question == question,
                )
            ).scalar()
        return dict(answer) if answer is not None else None

    def put(
        self,
        partner: str,
        dataset: str,
        generation: int,
        question: str,
        answer: dict[str, Any],
        also: Callable[[Connection], None] | None = None,
    ) -> dict[str, Any]:
        """Keep ``answer`` (and run ``also`` in the same transaction); if an identical question
        raced it in, return the one kept first."""
        with self._engine.begin() as connection:
            if also is not None:
                also(connection)
            self._insert_ignore(
                connection,
                aggregate_answers,
                {
                    "partner": partner,
                    "dataset": dataset,
                    "generation": generation,
                    "question": question,
                    "answer": answer,
                    "released_at": self._clock(),
                },
            )
        kept = self.get(partner, dataset, generation, question)
        return kept if kept is not None else answer

    @staticmethod
    def _insert_ignore(connection: Any, target: Table, values: dict[str, Any]) -> None:
        dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
        connection.execute(dialect.insert(target).values(values).on_conflict_do_nothing())
