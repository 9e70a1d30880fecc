"""GET /v1/products/{product_id}: one product's latest score, why, and how it got there."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import BaseModel, Field
from sqlalchemy import select

from services.api.auth import REFUSALS
from services.api.deps import READ, SessionDep
from services.api.routes.alerts import Alert
from services.api.routes.trends import Reason, Trend, trend_of
from services.api.store import AlertRecord, LatestScore, ScoreHistory

router = APIRouter(tags=["trends"], dependencies=[READ], responses=REFUSALS)
HOUR_MS = 3_600_000
PRODUCT_ID = r"^[A-Za-z0-9_.:@/#+=-]{1,128}$"  # the event schema's id pattern


class ScorePoint(BaseModel):
    tick_ms: int = Field(examples=[1772409600000])
    probability: float = Field(ge=0, le=1, examples=[0.83])
    score: float = Field(examples=[7.4])
    model_version: str = Field(examples=["growth-ratio-1"])


class EngagementPoint(BaseModel):
    tick_ms: int = Field(examples=[1772409600000])
    events_1h: float = Field(description="interactions in the hour up to the tick", examples=[420])
    events_24h: float = Field(
        description="interactions in the 24 h up to the tick", examples=[2100]
    )


class Explanation(BaseModel):
    reasons: list[Reason] = Field(description="top contributions, most important first")
    evidence: dict[str, float] = Field(
        description="the feature values behind the score",
        examples=[{"events_1h": 420, "growth_6h_vs_24h": 3.2, "creators_24h": 18}],
    )


class ProductDetail(BaseModel):
    product: Trend
    explanation: Explanation
    engagement: list[EngagementPoint] = Field(description="oldest first, within `hours`")
    score_history: list[ScorePoint] = Field(description="oldest first, within `hours`")
    alerts: list[Alert] = Field(description="this product's latest alerts, newest first")


@router.get(
    "/v1/products/{product_id:path}",
    response_model=ProductDetail,
    summary="One product: score, explanation, recent engagement and score history",
    responses={404: {"description": "no score for this product"}},
)
def get_product(
    session: SessionDep,
    product_id: Annotated[str, Path(pattern=PRODUCT_ID, examples=["keripik-pisang-042"])],
    hours: Annotated[int, Query(ge=1, le=168, description="history window, in hours")] = 48,
) -> ProductDetail:
    row = session.get(LatestScore, product_id)
    if row is None:
        raise HTTPException(404, f"no score for product {product_id!r}")
    history = session.scalars(
        select(ScoreHistory)
        .where(
            ScoreHistory.product_id == product_id,
            ScoreHistory.tick_ms > row.tick_ms - hours * HOUR_MS,
        )
        .order_by(ScoreHistory.tick_ms)
    ).all()
    alerts = session.scalars(
        select(AlertRecord.body)
        .where(AlertRecord.product_id == product_id)
        .order_by(AlertRecord.tick_ms.desc())
        .limit(10)
    ).all()
    trend = trend_of(row)
    return ProductDetail(
        product=trend,
        explanation=Explanation(reasons=trend.reasons, evidence=trend.evidence),
        engagement=[
            EngagementPoint(tick_ms=h.tick_ms, events_1h=h.events_1h, events_24h=h.events_24h)
            for h in history
        ],
        score_history=[
            ScorePoint(
                tick_ms=h.tick_ms,
                probability=h.probability,
                score=h.score,
                model_version=h.model_version,
            )
            for h in history
        ],
        alerts=[Alert.model_validate(body) for body in alerts],
    )
