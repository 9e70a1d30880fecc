"""GET /v1/trends: products ranked by score, with filters and cursor pagination.

Every client asking the same question gets the same page until the store changes, so
pages are cached serialized: keyed by the query, dropped when this process commits a
score batch (`ScoreIntake.version`) and after `TREND_PAGE_TTL_S` at the latest (scores
written by another process, e.g. another replica sharing a Postgres store).
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import sessionmaker

from services.api.caching import ExpiringCache, SingleFlight
from services.api.queries import ranked_trends
from services.api.store import LatestScore
from services.api.validation import invalid
from shared.schema import PLATFORMS

router = APIRouter(tags=["trends"])
TREND_PAGE_TTL_S = 2.0
PageKey = tuple[int, str | None, str | None, str | None, float | None, str | None]


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
        platforms=[p for p in (row.platforms_text or "").split(",") if p],
        probability=row.probability,
        score=row.score,
        model_version=row.model_version,
        tick_ms=row.tick_ms,
        reasons=[Reason(**x) for x in row.reasons],
        evidence=row.evidence,
    )


def _encode_cursor(score: float, product_id: str) -> str:
    return base64.urlsafe_b64encode(f"{score!r}|{product_id}".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[float, str]:
    try:
        score, product_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        return float(score), product_id
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise invalid(("query", "cursor"), "cursor is not one this API returned") from exc


class TrendPages:
    """Serialized trend pages: the cache, and one store query per page however many
    requests wait for it."""

    def __init__(self, ttl_s: float = TREND_PAGE_TTL_S, max_entries: int = 512) -> None:
        self.cache: ExpiringCache[PageKey, bytes] = ExpiringCache(ttl_s, max_entries)
        self.flights: SingleFlight[tuple[PageKey, int], bytes] = SingleFlight()


def _page_json(
    sessions: sessionmaker,
    max_age_ms: int,
    limit: int,
    category: str | None,
    region: str | None,
    platform: str | None,
    min_score: float | None,
    after: tuple[float, str] | None,
) -> bytes:
    """One page from the store, validated by the response model and serialized."""
    with sessions() as session:
        rows = ranked_trends(
            session,
            max_age_ms,
            limit + 1,
            category=category,
            region=region,
            platform=platform,
            min_probability=min_score,
            after=after,
        )
    more = len(rows) > limit
    page = TrendPage(
        items=[trend_of(r) for r in rows[:limit]],
        next_cursor=_encode_cursor(rows[limit - 1].score, rows[limit - 1].product_id)
        if more
        else None,
    )
    return page.model_dump_json().encode()


# The response model documents the page; the route returns the bytes it already
# validated and serialized once per cached page, which FastAPI passes through as is.
@router.get("/v1/trends", response_model=TrendPage, summary="Rising products, best first")
async def list_trends(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    category: Annotated[str | None, Query(max_length=256)] = None,
    region: Annotated[str | None, Query(pattern=r"^ID-[A-Z]{2}$")] = None,
    platform: Annotated[str | None, Query(pattern=PLATFORM_PATTERN, examples=["tiktok"])] = None,
    min_score: Annotated[float | None, Query(ge=0, le=1, description="minimum probability")] = None,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> Response:
    """Products whose latest score is recent, ranked by score (ties by product id)."""
    state = request.app.state
    after = _decode_cursor(cursor) if cursor else None
    key: PageKey = (limit, category, region, platform, min_score, cursor)
    version: int = state.intake.version  # read before the query: a batch landing during
    pages: TrendPages = state.trend_pages  # it leaves this page under the older version
    body = pages.cache.get(key, version)
    if body is None:

        def compute() -> bytes:
            fresh = _page_json(
                state.sessionmaker,
                state.settings.trend_max_age_ms,
                limit,
                category,
                region,
                platform,
                min_score,
                after,
            )
            pages.cache.put(key, fresh, version)
            return fresh

        body = await pages.flights.run((key, version), compute)
    return Response(body, media_type="application/json")
