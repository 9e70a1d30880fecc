"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy import text

from services.api.deps import EventSinkDep, ScoreConsumerDep, SessionDep

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is up")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Store reachable and, when Kafka is configured, Kafka too")
def readyz(
    response: Response, session: SessionDep, consumer: ScoreConsumerDep, sink: EventSinkDep
) -> dict[str, str]:
    checks: dict[str, str] = {}
    try:
        session.execute(text("SELECT 1"))
        checks["store"] = "ok"
    except Exception as exc:  # readiness reports any failure as a reason, never a 500
        checks["store"] = f"error: {type(exc).__name__}"
    if consumer is not None:
        checks["kafka"] = "ok" if consumer.healthy else "not connected"
    elif sink is not None:
        checks["kafka"] = "ok" if sink.reachable() else "not connected"
    if any(v != "ok" for v in checks.values()):
        response.status_code = 503
    return checks
