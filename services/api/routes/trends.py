"""GET /v1/trends: products ranked by score, with filters and cursor pagination."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from services.api.queries import ranked_trends
from services.api.store import LatestScore
from services.api.validation import invalid
from shared.schema import PLATFORMS

router = APIRouter(tags=["trends"])


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


@router.get("/v1/trends", response_model=TrendPage, summary="Rising products, best first")
def list_trends(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    category: Annotated[str | None, Query(max_length=256)] = None,
    region: Annotated[str | None, Query(pattern=r"^ID-[A-Z]{2}$")] = None,
    platform: Annotated[str | None, Query(pattern=PLATFORM_PATTERN, examples=["tiktok"])] = None,
    min_score: Annotated[float | None, Query(ge=0, le=1, description="minimum probability")] = None,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> TrendPage:
    """Products whose latest score is recent, ranked by score (ties by product id)."""
    settings = request.app.state.settings
    after = _decode_cursor(cursor) if cursor else None
    with request.app.state.sessionmaker() as session:
        rows = ranked_trends(
            session,
            settings.trend_max_age_ms,
            limit + 1,
            category=category,
            region=region,
            platform=platform,
            min_probability=min_score,
            after=after,
        )
    items = [trend_of(r) for r in rows[:limit]]
    more = len(rows) > limit
    return TrendPage(
        items=items,
        next_cursor=_encode_cursor(rows[limit - 1].score, rows[limit - 1].product_id)
        if more
        else None,
    )
