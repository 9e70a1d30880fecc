"""POST /v1/events: engagement events over HTTP, produced to `pantau.events`."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from services.api.auth import REFUSALS
from services.api.body_scan import BodyOverLimit, BodyScan
from services.api.deps import ADMIN, EventSinkDep, MaxMessageBytesDep, SettingsDep
from services.api.event_batches import BodyError, EventBatch, body_lines, prepare
from services.api.event_sink import SinkUnavailable
from services.api.validation import invalid
from shared.schema import ACTIONS, PLATFORMS

router = APIRouter(tags=["events"], dependencies=[ADMIN], responses=REFUSALS)
MAX_REJECTIONS_LISTED = 100

_EVENT = {
    "type": "object",
    "required": ["event_id", "ts", "platform", "product_id", "action"],
    "properties": {
        "event_id": {"type": "string", "maxLength": 128},
        "ts": {"description": "RFC 3339 or epoch milliseconds", "type": ["string", "integer"]},
        "platform": {"type": "string", "enum": list(PLATFORMS)},
        "product_id": {"type": "string", "maxLength": 128},
        "action": {"type": "string", "enum": list(ACTIONS)},
        "count": {"type": "integer", "minimum": 1, "default": 1},
        "creator_id": {"type": "string"},
        "region": {"type": "string", "pattern": "^ID-[A-Z]{2}$"},
        "category": {"type": "string"},
        "product_name": {"type": "string"},
        "price_idr": {"type": "number"},
    },
}
_EXAMPLE = {
    "event_id": "tt-9f2c1a",
    "ts": "2026-03-02T08:15:00+07:00",
    "platform": "tiktok",
    "product_id": "keripik-pisang-042",
    "action": "share",
    "creator_id": "c-71ab",
    "region": "ID-JT",
    "category": "makanan",
}
_NDJSON_EXAMPLE = (
    '{"event_id":"tt-9f2c1a","ts":"2026-03-02T08:15:00+07:00","platform":"tiktok",'
    '"product_id":"keripik-pisang-042","action":"share","region":"ID-JT"}\n'
    '{"event_id":"sp-11","ts":1772413200000,"platform":"shopee",'
    '"product_id":"keripik-pisang-042","action":"purchase","count":3}\n'
)
OPENAPI_BODY = {
    "requestBody": {
        "required": True,
        "description": "A JSON array of events, or NDJSON (one event per line).",
        "content": {
            "application/json": {
                "schema": {"type": "array", "items": _EVENT, "minItems": 1},
                "example": [_EXAMPLE],
            },
            "application/x-ndjson": {
                "schema": {"type": "string"},
                "example": _NDJSON_EXAMPLE,
            },
        },
    }
}


class Rejection(BaseModel):
    index: int = Field(description="0-based line (NDJSON) or element (array) index", examples=[3])
    reason: str = Field(examples=["missing_field"])
    detail: str = Field(examples=["event_id: required field missing"])


class EventsAccepted(BaseModel):
    accepted: int = Field(description="events produced to pantau.events", examples=[2])
    rejected: int = Field(description="events refused (not produced)", examples=[1])
    rejections: list[Rejection] = Field(
        description=f"why, for at most the first {MAX_REJECTIONS_LISTED} refused events"
    )


async def read_limited(request: Request, max_bytes: int, scan: BodyScan) -> bytes:
    """The body, refused with 413 as soon as it passes `max_bytes` or `scan` finds too many
    events or too deep a nesting: never buffered past the limit, never parsed over it."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise HTTPException(413, f"body larger than {max_bytes} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise HTTPException(413, f"body larger than {max_bytes} bytes")
        try:
            scan.feed(chunk)
        except BodyOverLimit as exc:
            raise HTTPException(413, str(exc)) from exc
        chunks.append(chunk)
    return b"".join(chunks)


def _prepare(body: bytes, max_message_bytes: int) -> EventBatch:
    return prepare(body_lines(body), max_message_bytes)


@router.post(
    "/v1/events",
    status_code=202,
    response_model=EventsAccepted,
    summary="Send engagement events (NDJSON or a JSON array)",
    openapi_extra=OPENAPI_BODY,
    responses={
        413: {"description": "body size, event count or JSON nesting over the limit"},
        422: {"description": "the body holds no JSON events at all"},
        503: {"description": "Kafka did not take the events; retry later"},
    },
)
async def post_events(
    request: Request,
    settings: SettingsDep,
    sink: EventSinkDep,
    max_message_bytes: MaxMessageBytesDep,
) -> EventsAccepted:
    """Valid events go to `pantau.events` (keyed by product); invalid ones are listed with
    their reason and not produced. A 202 means every accepted event is acknowledged by Kafka."""
    if sink is None:
        raise HTTPException(503, "event intake is not configured on this API (no Kafka)")
    scan = BodyScan(settings.max_events_per_request, settings.max_json_depth)
    body = await read_limited(request, settings.max_body_bytes, scan)
    try:
        batch = await run_in_threadpool(_prepare, body, max_message_bytes)
    except BodyError as exc:
        raise invalid(("body",), str(exc), "events_expected") from exc
    if batch.messages:
        try:
            await run_in_threadpool(sink.publish, batch.messages)
        except SinkUnavailable as exc:
            raise HTTPException(503, str(exc), headers={"Retry-After": "5"}) from exc
    listed = batch.decoded.rejected.head(MAX_REJECTIONS_LISTED)
    return EventsAccepted(
        accepted=batch.accepted,
        rejected=batch.rejected,
        rejections=[
            Rejection(index=i, reason=r, detail=d)
            for i, r, d in zip(listed["line_no"], listed["reason"], listed["detail"], strict=True)
        ],
    )
