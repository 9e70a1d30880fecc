"""Emerging terms in the store: the context kept per term (co-occurring words, example
links) and the query for terms that rise and name no catalogue product.

Term scores are ordinary rows of `scores_latest` whose id starts with `term:`; the rules
for what a term matches and how its context is bounded live in `shared.emerging`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import JSON, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from services.api.catalogue_store import load_catalogue
from services.api.db import Base
from services.api.store import LatestScore
from services.api.web.i18n import is_rising
from shared.emerging import TERM_PREFIX, matching_product, merge_context, term_key

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


@dataclass(frozen=True)
class EmergingTerm:
    term: str
    row: LatestScore
    words: dict[str, int]
    examples: list[str]


def emerging_terms(session: Session, max_age_ms: int, limit: int) -> list[EmergingTerm]:
    """Term products whose latest score is fresh (as the ranked list counts it) and rising
    (as the seller page says it), that name no catalogue product; best score first."""
    newest = session.scalar(select(func.max(LatestScore.tick_ms)))
    if newest is None:
        return []
    rows: Sequence[LatestScore] = session.scalars(
        select(LatestScore)
        .where(
            LatestScore.product_id >= _TERMS_FROM,
            LatestScore.product_id < _TERMS_TO,
            LatestScore.tick_ms >= newest - max_age_ms,
        )
        .order_by(LatestScore.score.desc(), LatestScore.product_id)
    ).all()
    rising = [r for r in rows if is_rising(r.probability)]
    if not rising:
        return []
    catalogue = load_catalogue(session)
    found: list[tuple[str, LatestScore]] = []
    for row in rising:
        written = row.product_name or term_key(row.product_id)
        if matching_product(written, catalogue) is None:
            found.append((term_key(row.product_id), row))
        if len(found) == limit:
            break
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
