"""GET /metrics, and the middleware that counts requests by route template (never raw paths)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from shared import metrics

router = APIRouter(tags=["ops"])


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
def prometheus_metrics() -> Response:
    return Response(generate_latest(metrics.registry("api")), media_type=CONTENT_TYPE_LATEST)


async def record_request(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Count and time each request under its route template, so labels stay bounded."""
    started = time.perf_counter()
    status = 500
    try:
        response = await call_next(request)
        status = response.status_code
        return response
    finally:
        route = request.scope.get("route")
        template = getattr(route, "path", None) or metrics.UNMATCHED_ROUTE
        metrics.HTTP_REQUESTS.labels(
            route=template, method=request.method, status=str(status)
        ).inc()
        metrics.HTTP_REQUEST_DURATION.labels(route=template, method=request.method).observe(
            time.perf_counter() - started
        )
