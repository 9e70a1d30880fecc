"""Emerging terms: phrases and hashtags that rise like products but name no catalogue
product yet (GET /v1/emerging), the context the connectors report for them (POST
/v1/terms/context) and the one call that turns a term into a catalogue product."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, HTTPException, Path, Query
from pydantic import BaseModel, Field, StringConstraints
from sqlalchemy.orm import Session

from services.api.auth import REFUSALS
from services.api.catalogue_store import Change, apply_products
from services.api.deps import ADMIN, READ, SessionDep, SettingsDep, TermIndexesDep
from services.api.routes.catalogue_schemas import (
    BLANK,
    CATALOGUE_ID,
    CONFLICT,
    NAME,
    NOT_JSON,
    TEXT,
    Written,
    product_body,
    write,
)
from services.api.terms import TermReport, emerging_terms, merge_term_contexts
from shared.catalogue import CatalogueError
from shared.emerging import MAX_EXAMPLES, MAX_WORDS, promoted_product, term_key
from shared.scores import is_calibrated

router = APIRouter(tags=["emerging terms"])
# A term as its product id carries it after `term:` (the event schema's id characters,
# without `/` so it fits in a path), with at least one letter or digit; `term:` may be kept.
TERM = r"^(term:)?[A-Za-z0-9_.:@#+=-]*[A-Za-z0-9][A-Za-z0-9_.:@#+=-]*$"
MAX_WORD_CHARS = 64
Link = Annotated[str, StringConstraints(pattern=rf"^https?://[^{BLANK}]+$", max_length=2048)]


class WordCount(BaseModel):
    word: str = Field(examples=["gula"])
    count: int = Field(ge=1, examples=[42])


class EmergingTerm(BaseModel):
    term: str = Field(description="the term as its id carries it", examples=["kopi-pandan"])
    product_id: str = Field(examples=["term:kopi-pandan"])
    name: str = Field(description="the term as posts write it", examples=["kopi pandan"])
    probability: float = Field(ge=0, le=1, examples=[0.62])
    calibrated: bool = Field(
        description="false: `probability` is a growth baseline's strength, not a chance"
    )
    score: float = Field(examples=[6.2])
    tick_ms: int = Field(examples=[1772409600000])
    creators_24h: float = Field(ge=0, description="creators posting it in 24 h", examples=[37])
    events_24h: float = Field(ge=0, examples=[5400])
    words: list[WordCount] = Field(
        description=f"top co-occurring words, most frequent first (at most {MAX_WORDS})"
    )
    examples: list[str] = Field(
        description=f"links to posts naming it, newest last (at most {MAX_EXAMPLES})",
        examples=[["https://www.tiktok.com/@warungkopi/video/7339"]],
    )


class EmergingList(BaseModel):
    items: list[EmergingTerm]


class TermContextIn(BaseModel):
    term: str = Field(pattern=TERM, max_length=128, examples=["kopi-pandan"])
    words: dict[str, Annotated[int, Field(ge=1, le=1_000_000_000)]] = Field(
        {},
        max_length=500,
        description=f"word: count; empty words, words over {MAX_WORD_CHARS} characters "
        "and words holding NUL are ignored",
        examples=[{"gula": 12, "aren": 9, "literan": 4}],
    )
    examples: list[Link] = Field(
        [], max_length=50, examples=[["https://www.tiktok.com/@warungkopi/video/7339"]]
    )


class TermsMerged(BaseModel):
    terms: int = Field(ge=0, description="terms whose context changed", examples=[2])


class Promotion(BaseModel):
    product_id: str | None = Field(
        default=None, pattern=CATALOGUE_ID, description="default: derived from the term's words"
    )
    name: str | None = Field(
        default=None, max_length=256, pattern=NAME, description="default: the term's words"
    )
    category: str = Field(default="", max_length=256, pattern=TEXT, examples=["minuman"])


@router.get(
    "/v1/emerging",
    response_model=EmergingList,
    summary="Rising terms that name no catalogue product",
    dependencies=[READ],
    responses=REFUSALS,
)
def list_emerging(
    session: SessionDep,
    settings: SettingsDep,
    indexes: TermIndexesDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> EmergingList:
    """Term products (`term:…`) whose latest score is fresh and rising, as the seller page
    counts both, and whose words are not a catalogue product's name, alias or keyword set
    nor one of its hashtags; best score first, with what posts naming them also said."""
    found = emerging_terms(session, settings.trend_max_age_ms, limit, indexes)
    return EmergingList(
        items=[
            EmergingTerm(
                term=e.term,
                product_id=e.row.product_id,
                name=e.row.product_name or e.term,
                probability=e.row.probability,
                calibrated=is_calibrated(e.row.model_version),
                score=e.row.score,
                tick_ms=e.row.tick_ms,
                creators_24h=max(0.0, (e.row.evidence or {}).get("creators_24h") or 0.0),
                events_24h=max(0.0, (e.row.evidence or {}).get("events_24h") or 0.0),
                words=[WordCount(word=w, count=c) for w, c in e.words.items()],
                examples=e.examples,
            )
            for e in found
        ]
    )


def _words(counts: dict[str, int]) -> dict[str, int]:
    return {w: n for w, n in counts.items() if 0 < len(w) <= MAX_WORD_CHARS and "\x00" not in w}


@router.post(
    "/v1/terms/context",
    response_model=TermsMerged,
    summary="Add co-occurring words and example links to terms' context",
    dependencies=[ADMIN],
    responses={**REFUSALS, **CONFLICT, **NOT_JSON},
)
def post_term_context(
    session: SessionDep,
    batch: Annotated[list[TermContextIn], Body(min_length=1, max_length=1000)],
) -> TermsMerged:
    """Counts add up per word; each term keeps its top words and its last example links,
    so the context stays bounded however long a term lives."""
    reports = [TermReport(t.term, _words(t.words), tuple(t.examples)) for t in batch]
    return TermsMerged(terms=write(session, lambda s: merge_term_contexts(s, reports)))


@router.post(
    "/v1/emerging/{term}:promote",
    response_model=Written,
    status_code=201,
    summary="Make a term a catalogue product",
    dependencies=[ADMIN],
    responses={
        **REFUSALS,
        409: {"description": "that product id is taken, or taken at the same time: retry"},
        **NOT_JSON,
    },
)
def promote_term(
    session: SessionDep,
    term: Annotated[str, Path(pattern=TERM, max_length=128, examples=["kopi-pandan"])],
    promotion: Annotated[Promotion | None, Body()] = None,
) -> Written:
    """Creates the product (name from the term's words, id given or derived, the term as a
    hashtag when it was one) and raises the catalogue's version, so the term leaves the
    emerging list and the connectors count it as the product from their next reload."""
    promotion = promotion or Promotion()
    try:
        product = promoted_product(
            term_key(term),
            promotion.product_id,
            promotion.name.strip() if promotion.name else None,
            promotion.category.strip(),
        )
    except CatalogueError as exc:
        raise HTTPException(422, str(exc)) from None

    def create(session: Session) -> Change:
        change = apply_products(session, (product,))
        if not change.created:
            raise HTTPException(409, f"catalogue product {product.product_id!r} already exists")
        return change

    change = write(session, create)
    return Written(version=change.version, product=product_body(product))
