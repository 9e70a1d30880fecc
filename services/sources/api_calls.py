"""Calling a platform API over HTTP: errors as a small fixed set of kinds, and retries.

Every failed attempt is counted in `pantau_connect_api_errors_total` by kind. Transient
kinds (timeouts, refused connections, 429, 5xx, a body that is not the documented JSON)
are retried with exponential backoff; the others go to the poller, which knows what they
mean for its platform (a spent quota waits for the reset, a refused key stops the service).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

import httpx

from services.sources.polling import backoff_s
from shared import metrics
from shared.logs import log_event

log = logging.getLogger(__name__)
T = TypeVar("T")

ERROR_KINDS = metrics.CONNECT_ERROR_KINDS  # bounded: they label a metric
TRANSIENT = frozenset({"timeout", "connection", "server_error", "rate_limited", "malformed"})


class ApiError(Exception):
    """A failed API call: `kind` (one of ERROR_KINDS), the HTTP status (0 without one) and
    the API's own reason code when it gave one."""

    def __init__(self, kind: str, status: int = 0, reason: str = "", detail: str = "") -> None:
        super().__init__(f"{kind} (HTTP {status} {reason}): {detail[:300]}")
        self.kind, self.status, self.reason = kind, status, reason

    @property
    def transient(self) -> bool:
        return self.kind in TRANSIENT


class Stopped(Exception):
    """The service was asked to stop while waiting to retry."""


def status_kind(status: int) -> str:
    """The error kind of a non-2xx HTTP status when the body says nothing more precise."""
    if status == 401:
        return "unauthorized"
    if status == 429:
        return "rate_limited"
    if status >= 500:
        return "server_error"
    return "rejected"


def call(
    send: Callable[[], httpx.Response],
    parse: Callable[[httpx.Response], T],
    *,
    attempts: int,
    base_backoff_s: float,
    wait: Callable[[float], bool],
    on_error: Callable[[ApiError], None] | None = None,
) -> T:
    """`parse(send())`, retrying transient errors up to `attempts` times in all.

    `parse` raises ApiError for an error response. `wait(seconds)` sleeps and returns
    True if the service is stopping (then `Stopped` is raised). `on_error` may repair
    the cause of an error (renew a token) before the next attempt.
    """
    attempt = 0
    while True:
        attempt += 1
        try:
            try:
                response = send()
            except httpx.TimeoutException as exc:
                raise ApiError("timeout", detail=str(exc)) from exc
            except httpx.TransportError as exc:
                raise ApiError("connection", detail=str(exc)) from exc
            return parse(response)
        except ApiError as error:
            metrics.CONNECT_API_ERRORS.labels(reason=error.kind).inc()
            retry = error.transient or (error.kind == "unauthorized" and on_error is not None)
            if not retry or attempt >= attempts:
                raise
            if on_error is not None:
                on_error(error)
            delay_s = backoff_s(attempt, base_backoff_s)
            log_event(
                log,
                "API call failed (%s); retrying in %.1f s",
                error,
                delay_s,
                level=logging.WARNING,
                kind=error.kind,
                status=error.status,
                attempt=attempt,
            )
            if wait(delay_s):
                raise Stopped from error
