"""Emerging terms in the store: the context kept per term (co-occurring words, example
links) and the query for terms that rise and name no catalogue product.

Term scores are ordinary rows of `scores_latest` whose id starts with `term:`; the rules
for what a term matches and how its context is bounded live in `shared.emerging`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import JSON, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from services.api.catalogue_store import catalogue_version, load_catalogue
from services.api.db import Base
from services.api.i18n import RISING_PROBABILITY
from services.api.store import LatestScore
from shared.emerging import TERM_PREFIX, TermIndex, merge_context, term_key

# Every id that starts with "term:" sorts between these two: a range on the primary key
# instead of a LIKE, which SQLite would not answer from the index.
_TERMS_FROM = TERM_PREFIX
_TERMS_TO = TERM_PREFIX[:-1] + chr(ord(TERM_PREFIX[-1]) + 1)


class TermContext(Base):
    """What posts naming a term also said: word counts (top `MAX_WORDS`) and the last
    `MAX_EXAMPLES` links to such posts. Keyed by the term as its id carries it."""

    __tablename__ = "term_context"

    term: Mapped[str] = mapped_column(String(128), primary_key=True)
    words: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    examples: Mapped[list[str]] = mapped_column(JSON, default=list)


@dataclass(frozen=True)
class TermReport:
    """One batch item of POST /v1/terms/context."""

    term: str
    words: dict[str, int] = field(default_factory=dict)
    examples: tuple[str, ...] = ()


def merge_term_contexts(session: Session, reports: Iterable[TermReport]) -> int:
    """Add each report to its term's context (no commit); returns the terms touched.
    Rows are locked while merged, so two replicas merging the same term add up."""
    merged: dict[str, TermReport] = {}
    for report in reports:  # one row update per term, however often the batch names it
        key = term_key(report.term)
        before = merged.get(key, TermReport(key))
        counts, examples = merge_context(
            before.words, before.examples, report.words, report.examples
        )
        merged[key] = TermReport(key, counts, tuple(examples))
    if not merged:
        return 0
    rows = {
        row.term: row
        for row in session.scalars(
            select(TermContext).where(TermContext.term.in_(merged)).with_for_update()
        )
    }
    for key, report in merged.items():
        row = rows.get(key)
        if row is None:
            row = TermContext(term=key, words={}, examples=[])
            session.add(row)
        counts, examples = merge_context(row.words, row.examples, report.words, report.examples)
        row.words, row.examples = counts, examples
    return len(merged)


_state_lock = threading.Lock()


class TermIndexes:
    """The catalogue's term index for one app (one store), rebuilt only when the
    catalogue's version changed: one row read otherwise, where loading 2,000 products
    costs 0.25 s."""

    def __init__(self) -> None:
        self._cached: tuple[int, TermIndex] | None = None
        self._lock = threading.Lock()

    def get(self, session: Session) -> TermIndex:
        cached = self._cached
        if cached is not None and cached[0] == catalogue_version(session):
            return cached[1]
        catalogue = load_catalogue(session)
        index = TermIndex(catalogue)
        with self._lock:
            self._cached = (catalogue.version, index)
        return index


def term_indexes(state: object) -> TermIndexes:
    """The app's `TermIndexes`, made on first use."""
    indexes: TermIndexes | None = getattr(state, "term_indexes", None)
    if indexes is None:
        with _state_lock:
            indexes = getattr(state, "term_indexes", None)
            if indexes is None:
                indexes = TermIndexes()
                state.term_indexes = indexes  # type: ignore[attr-defined]
    return indexes


@dataclass(frozen=True)
class EmergingTerm:
    term: str
    row: LatestScore
    words: dict[str, int]
    examples: list[str]


def emerging_terms(
    session: Session, max_age_ms: int, limit: int, indexes: TermIndexes | None = None
) -> list[EmergingTerm]:
    """Term products whose latest score is fresh (as the ranked list counts it) and rising
    (as the seller page says it), that name no catalogue product; best score first."""
    newest = session.scalar(select(func.max(LatestScore.tick_ms)))
    if newest is None:
        return []
    # Ids and names only: decoding every rising term's JSON columns cost more than all
    # the rest (5,000 terms: 0.5 s); full rows are read for the few that are shown.
    rising = session.execute(
        select(LatestScore.product_id, LatestScore.product_name)
        .where(
            LatestScore.product_id >= _TERMS_FROM,
            LatestScore.product_id < _TERMS_TO,
            LatestScore.tick_ms >= newest - max_age_ms,
            LatestScore.probability >= RISING_PROBABILITY,
        )
        .order_by(LatestScore.score.desc(), LatestScore.product_id)
    ).all()
    if not rising:
        return []
    index = (indexes or TermIndexes()).get(session)
    chosen: list[str] = []
    for product_id, product_name in rising:
        if index.product_for(product_name or term_key(product_id)) is None:
            chosen.append(product_id)
            if len(chosen) == limit:
                break
    rows = {
        r.product_id: r
        for r in session.scalars(select(LatestScore).where(LatestScore.product_id.in_(chosen)))
    }
    found = [(term_key(pid), rows[pid]) for pid in chosen if pid in rows]
    contexts = {
        c.term: c
        for c in session.scalars(
            select(TermContext).where(TermContext.term.in_([term for term, _ in found]))
        )
    }
    out = []
    for term, row in found:
        context = contexts.get(term)
        out.append(
            EmergingTerm(
                term,
                row,
                dict(context.words) if context else {},
                list(context.examples) if context else [],
            )
        )
    return out
