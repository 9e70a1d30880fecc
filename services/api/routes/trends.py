"""GET /v1/trends: products ranked by score, with filters and cursor pagination.

Every client asking the same question gets the same page until the store changes, so
pages are cached serialized: keyed by the query, dropped when this process commits a
score batch (`ScoreIntake.version`), and refreshed once older than `TREND_PAGE_TTL_S`
(scores written by another process, e.g. another replica sharing a Postgres store): the
expired page is answered while one refresh runs, never a page older than two TTLs.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session, sessionmaker

from services.api.auth import REFUSALS
from services.api.deps import READ, TrendReadsDep
from services.api.queries import TrendKind, ranked_trends
from services.api.store import LatestScore
from services.api.validation import invalid
from shared.schema import PLATFORMS

router = APIRouter(tags=["trends"], dependencies=[READ], responses=REFUSALS)
TREND_PAGE_TTL_S = 2.0


class Reason(BaseModel):
    feature: str | None = None
    text_id: str
    text_en: str


class Trend(BaseModel):
    product_id: str = Field(examples=["keripik-pisang-042"])
    product_name: str | None = Field(None, examples=["Keripik Pisang Pedas"])
    category: str | None = Field(None, examples=["makanan"])
    regions: list[str] = Field(examples=[["ID-JT", "ID-JI"]])
    platforms: list[str] = Field([], examples=[["tiktok", "shopee"]])
    probability: float = Field(ge=0, le=1, examples=[0.83])
    score: float = Field(examples=[7.4])
    model_version: str = Field(examples=["growth-ratio-1"])
    tick_ms: int = Field(description="event time (epoch ms) of the tick that produced the score")
    reasons: list[Reason] = []
    evidence: dict[str, float] = {}


class TrendPage(BaseModel):
    items: list[Trend]
    next_cursor: str | None = Field(None, description="pass as `cursor` for the next page")


PLATFORM_PATTERN = "^(" + "|".join(PLATFORMS) + ")$"


def trend_of(row: LatestScore) -> Trend:
    return Trend(
        product_id=row.product_id,
        product_name=row.product_name,
        category=row.category,
        regions=row.regions,
        platforms=row.platforms,
        probability=row.probability,
        score=row.score,
        model_version=row.model_version,
        tick_ms=row.tick_ms,
        reasons=[Reason(**x) for x in row.reasons],
        evidence=row.evidence,
    )


def encode_cursor(score: float, product_id: str) -> str:
    return base64.urlsafe_b64encode(f"{score!r}|{product_id}".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[float, str]:
    try:
        score, product_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        return float(score), product_id
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise invalid(("query", "cursor"), "cursor is not one this API returned") from exc


class TrendQuery(BaseModel):
    """The query parameters of GET /v1/trends: validated and documented from here, and
    (frozen, so hashable) the key of the page cache."""

    model_config = ConfigDict(frozen=True)

    limit: int = Field(50, ge=1, le=500)
    category: str | None = Field(None, max_length=256)
    region: str | None = Field(None, pattern=r"^ID-[A-Z]{2}$")
    platform: str | None = Field(None, pattern=PLATFORM_PATTERN, examples=["tiktok"])
    min_score: float | None = Field(None, ge=0, le=1, description="minimum probability")
    cursor: str | None = Field(None, max_length=512)
    kind: TrendKind = Field(
        "product",
        description="product: catalogue products and other items; term: emerging terms "
        "(`term:…`, also in /v1/emerging); all: both",
    )


def _page_json(
    sessions: sessionmaker[Session],
    max_age_ms: int,
    query: TrendQuery,
    after: tuple[float, str] | None,
) -> bytes:
    """One page from the store, validated by the response model and serialized."""
    with sessions() as session:
        rows = ranked_trends(
            session,
            max_age_ms,
            query.limit + 1,
            category=query.category,
            region=query.region,
            platform=query.platform,
            min_probability=query.min_score,
            after=after,
            kind=query.kind,
        )
    limit = query.limit
    more = len(rows) > limit
    page = TrendPage(
        items=[trend_of(r) for r in rows[:limit]],
        next_cursor=encode_cursor(rows[limit - 1].score, rows[limit - 1].product_id)
        if more
        else None,
    )
    return page.model_dump_json().encode()


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    """OpenAPI parameter objects for a flat query model, as FastAPI writes them for
    parameters declared one by one."""
    schema = model.model_json_schema()
    return [
        {
            "name": name,
            "in": "query",
            "required": name in schema.get("required", ()),
            "schema": prop,
            **({"description": prop["description"]} if "description" in prop else {}),
        }
        for name, prop in schema["properties"].items()
    ]


VALIDATION_ERROR = {
    "description": "Validation Error",
    "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/HTTPValidationError"}}
    },
}


def _trend_query(request: Request) -> TrendQuery:
    """Validate the query in one model call, 422 in FastAPI's own error shape. FastAPI's
    per-parameter resolution re-inspected each annotation on every request: a third of
    the CPU of a cached page."""
    try:
        return TrendQuery.model_validate(dict(request.query_params))
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("query", *e["loc"])} for e in exc.errors(include_url=False)]
        ) from None


# The response model documents the page; the route returns the bytes it already
# validated and serialized once per cached page, which FastAPI passes through as is.
@router.get(
    "/v1/trends",
    response_model=TrendPage,
    summary="Rising products, best first",
    openapi_extra={"parameters": _query_parameters(TrendQuery)},
    responses={422: VALIDATION_ERROR},
)
async def list_trends(request: Request, reads: TrendReadsDep) -> Response:
    """Products whose latest score is recent, ranked by score (ties by product id)."""
    query = _trend_query(request)
    after = _decode_cursor(query.cursor) if query.cursor else None
    # Read before the query: a batch landing during it leaves this page under the older version.
    version = reads.intake.version
    pages = reads.pages

    def compute() -> bytes:
        page = _page_json(reads.sessions, reads.max_age_ms, query, after)
        pages.cache.put(query, page, version)
        return page

    body, fresh = pages.cache.lookup(query, version)
    if body is None:
        body = await pages.flights.run((query, version), compute)
    elif not fresh:  # past its TTL, same version: answer it once more, refresh behind
        pages.flights.start((query, version), compute)
    return Response(body, media_type="application/json")
