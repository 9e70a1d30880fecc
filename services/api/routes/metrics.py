"""GET /metrics, and the middleware that counts requests by route template (never raw paths)."""

from __future__ import annotations

import time

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import metrics

router = APIRouter(tags=["ops"])


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
def prometheus_metrics() -> Response:
    return Response(generate_latest(metrics.registry("api")), media_type=CONTENT_TYPE_LATEST)


class RequestMetrics:
    """Counts and times each request under its route template, so labels stay bounded.

    Plain ASGI rather than `@app.middleware("http")`: that wrapper costs a task and a
    memory stream per request, which measured as a large share of a cached answer.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_recording_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_recording_status)
        finally:
            # The router stores the matched route in the (shared) scope.
            route = scope.get("route")
            template = getattr(route, "path", None) or metrics.UNMATCHED_ROUTE
            method = scope["method"]
            metrics.HTTP_REQUESTS.labels(route=template, method=method, status=str(status)).inc()
            metrics.HTTP_REQUEST_DURATION.labels(route=template, method=method).observe(
                time.perf_counter() - started
            )
