"""A batch's term context to the API (POST /v1/terms/context), so /v1/emerging can show
what a rising phrase is about: the words its posts share and links to some of them.

Best effort: the events are what counts, so an API that is down or refuses the key
costs this batch's context (logged, counted in `failures`), never the poll.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
import polars as pl

from shared.logs import log_event

log = logging.getLogger(__name__)
BATCH = 1_000  # the route's limit per request


def context_reports(context: pl.DataFrame) -> list[dict[str, Any]]:
    """`shared.text.terms.CONTEXT_SCHEMA` rows as the route's items; terms by their id form."""
    return [
        {
            "term": row["term"].replace(" ", "-"),
            "words": dict(zip(row["words"], row["counts"], strict=True)),
            "examples": row["examples"],
        }
        for row in context.iter_rows(named=True)
    ]


class TermContextSender:
    """Posts term context to one API with one key (admin scope)."""

    def __init__(
        self,
        api_url: str,
        api_key: str | None = None,
        timeout_s: float = 10.0,
        client: httpx.Client | None = None,
    ) -> None:
        self.url = api_url.rstrip("/") + "/v1/terms/context"
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = client or httpx.Client(timeout=timeout_s)
        self.failures = 0  # requests that failed, in all
        self.sent = 0  # term reports the API accepted

    def send(self, context: pl.DataFrame) -> int:
        """Send every term's context; returns how many reports the API accepted."""
        reports = context_reports(context)
        accepted = 0
        for start in range(0, len(reports), BATCH):
            chunk = reports[start : start + BATCH]
            try:
                response = self._client.post(self.url, json=chunk, headers=self._headers)
                if response.status_code != 200:
                    raise ValueError(f"HTTP {response.status_code}: {response.text[:200]}")
            except (httpx.HTTPError, ValueError) as exc:
                self.failures += 1
                log_event(
                    log,
                    "term context to %s failed: %s: %s",
                    self.url,
                    type(exc).__name__,
                    exc,
                    level=logging.WARNING,
                )
                continue
            accepted += len(chunk)
        self.sent += accepted
        return accepted

    def close(self) -> None:
        self._client.close()
