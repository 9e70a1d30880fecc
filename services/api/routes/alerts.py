"""GET /v1/alerts: the alert feed, oldest first, resumable with a cursor.

The cursor is the store's insertion sequence, so a client that polls with the cursor it
was last given sees every alert exactly once, in the order the API stored them, even
across API restarts.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import select

from services.api.auth import REFUSALS
from services.api.deps import READ, SessionDep
from services.api.store import AlertRecord
from services.api.validation import invalid

router = APIRouter(tags=["alerts"], dependencies=[READ], responses=REFUSALS)


class AlertReason(BaseModel):
    text_id: str = Field(examples=["tayangan naik 8× dalam 6 jam"])
    text_en: str = Field(examples=["views up 8× in 6 hours"])


class Alert(BaseModel):
    id: str = Field(
        description="stable: derived from product, tick and tier",
        examples=["0f6f5c1e-2b9a-5d4e-9a57-6a8f0b1f5b10"],
    )
    tier: Literal["confident", "heads_up"] = Field(
        "confident",
        description="confident: likely viral within 24 h; heads_up (bersiap): within 3 days",
    )
    product_id: str = Field(examples=["keripik-pisang-042"])
    product_name: str | None = Field(None, examples=["Keripik Pisang Pedas"])
    category: str | None = Field(None, examples=["makanan"])
    regions: list[str] = Field(description="provinces where it is rising", examples=[["ID-JT"]])
    probability: float = Field(
        ge=0, le=1, description="the tier's own: within 24 h or within 72 h", examples=[0.83]
    )
    score: float = Field(examples=[7.4])
    model_version: str = Field(examples=["growth-ratio-1"])
    reasons: list[AlertReason] = []
    message_id: str = Field(
        description="message in Bahasa Indonesia",
        examples=[
            "Keripik Pisang Pedas sedang naik di Jawa Tengah: peluang viral 83% dalam 24 jam."
        ],
    )
    message_en: str = Field(
        description="message in English",
        examples=[
            "Keripik Pisang Pedas is rising in Jawa Tengah: "
            "83% chance of going viral within 24 hours."
        ],
    )
    ts: str = Field(
        description="RFC 3339 event time of the tick", examples=["2026-03-02T00:00:00Z"]
    )
    tick_ms: int = Field(examples=[1772409600000])


class AlertPage(BaseModel):
    items: list[Alert]
    next_cursor: str = Field(
        description="pass as `since` on the next call; unchanged when there is nothing new",
        examples=["42"],
    )


def parse_cursor(since: str | None) -> int:
    if not since:
        return 0
    if not since.isdigit() or len(since) > 18:
        raise invalid(("query", "since"), "since must be a cursor this API returned (digits)")
    return int(since)


@router.get("/v1/alerts", response_model=AlertPage, summary="Alerts after a cursor, oldest first")
def list_alerts(
    session: SessionDep,
    since: Annotated[
        str | None,
        Query(
            pattern=r"^[0-9]{0,18}$",
            description="`next_cursor` of the previous page; absent or empty: from the start",
        ),
    ] = None,
    category: Annotated[str | None, Query(max_length=256)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AlertPage:
    after = parse_cursor(since)
    query = select(AlertRecord.seq, AlertRecord.body).where(AlertRecord.seq > after)
    if category:
        query = query.where(AlertRecord.category == category)
    rows = session.execute(query.order_by(AlertRecord.seq).limit(limit)).all()
    return AlertPage(
        items=[Alert.model_validate(body) for _, body in rows],
        next_cursor=str(rows[-1][0] if rows else after),
    )
