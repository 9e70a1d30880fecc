"""TikTok Research API: a client-credentials token, video queries, counters as snapshots.

`POST /v2/oauth/token/` (form: client_key, client_secret, grant_type=client_credentials)
answers `{"access_token", "expires_in": 7200, "token_type": "Bearer"}`; the token is
renewed `token_margin_s` before it expires, and at once after a 401 `access_token_invalid`.
`POST /v2/research/video/query/?fields=…` takes `{"query": {"and"|"or"|"not": [conditions]},
"start_date", "end_date" (YYYYMMDD, at most 30 days apart), "max_count" (≤ 100), "cursor",
"search_id"}` and answers `{"data": {"videos", "cursor", "has_more", "search_id"},
"error": {"code": "ok", "message", "log_id"}}`. A project has 1,000 requests a day,
reset at midnight UTC.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import polars as pl

from services.sources import api_calls
from services.sources.api_calls import ApiError
from services.sources.checkpoint_dir import saved_dict, saved_int
from services.sources.connector import PollResult
from services.sources.polling import QuotaLedger, date_windows, plan_wait_s
from services.sources.presets import tiktok_videos
from shared.settings import TikTokSettings

SOURCE = "tiktok"
FIELDS = (
    "id,video_description,create_time,region_code,view_count,like_count,comment_count,"
    "share_count,favorites_count,hashtag_names,username"
)
ERROR_CODES = {
    "access_token_invalid": "unauthorized",
    "rate_limit_exceeded": "rate_limited",
    "daily_quota_limit_exceeded": "quota_exceeded",
    "internal_error": "server_error",
    "invalid_params": "rejected",
    "scope_not_authorized": "rejected",
    "scope_permission_missed": "rejected",
}


def _error_kind(status: int, code: str) -> str:
    if code in ERROR_CODES:
        return ERROR_CODES[code]
    if "quota" in code:
        return "quota_exceeded"
    return api_calls.status_kind(status)


def parse_token(response: httpx.Response) -> tuple[str, float]:
    """(access token, lifetime in seconds) or ApiError; a refused client is `rejected`."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.is_success and isinstance(body, dict) and body.get("access_token"):
        return str(body["access_token"]), float(body.get("expires_in", 7_200))
    if response.is_success or not isinstance(body, dict):
        kind = "malformed" if response.is_success else api_calls.status_kind(response.status_code)
        raise ApiError(kind, response.status_code, detail=response.text[:200])
    code = str(body.get("error", ""))
    kind = "rejected" if code.startswith("invalid_") else _error_kind(response.status_code, code)
    raise ApiError(kind, response.status_code, code, str(body.get("error_description", "")))


def parse_query(response: httpx.Response) -> dict[str, Any]:
    """The `data` of a video query, or ApiError from the `error` object (or the status)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        kind = "malformed" if response.is_success else api_calls.status_kind(response.status_code)
        raise ApiError(kind, response.status_code, detail=response.text[:200])
    error = found if isinstance(found := body.get("error"), dict) else {}
    code = str(error.get("code", "ok"))
    if response.is_success and code == "ok":
        data = body.get("data")
        if not isinstance(data, dict) or not isinstance(data.get("videos", []), list):
            raise ApiError("malformed", response.status_code, detail=response.text[:200])
        return data
    raise ApiError(
        _error_kind(response.status_code, code),
        response.status_code,
        code,
        str(error.get("message")),
    )


class TikTokClient:
    """Token management and paged video queries; each query request is charged to the ledger."""

    def __init__(
        self,
        settings: TikTokSettings,
        http: httpx.Client,
        ledger: QuotaLedger,
        wait: Callable[[float], bool],
        clock_ms: Callable[[], int],
    ) -> None:
        self.settings, self.http, self.ledger = settings, http, ledger
        self.wait, self.clock_ms = wait, clock_ms
        self.token = ""
        self.token_expires_ms = 0
        self.tokens_issued = 0

    def _url(self, path: str) -> str:
        return f"{self.settings.base_url.rstrip('/')}{path}"

    def _renew(self) -> None:
        form = {
            "client_key": self.settings.client_key,
            "client_secret": self.settings.client_secret.get_secret_value(),
            "grant_type": "client_credentials",
        }
        token, lifetime_s = api_calls.call(
            lambda: self.http.post(
                self._url("/v2/oauth/token/"),
                data=form,
                headers={"Cache-Control": "no-cache"},
            ),
            parse_token,
            attempts=self.settings.attempts,
            base_backoff_s=self.settings.backoff_s,
            wait=self.wait,
        )
        self.token, self.tokens_issued = token, self.tokens_issued + 1
        self.token_expires_ms = self.clock_ms() + int(lifetime_s * 1000)

    def _bearer(self) -> str:
        margin_ms = int(self.settings.token_margin_s * 1000)
        if not self.token or self.clock_ms() >= self.token_expires_ms - margin_ms:
            self._renew()
        return self.token

    def _forget_token(self, error: ApiError) -> None:
        if error.kind == "unauthorized":
            self.token = ""

    def query_page(self, body: dict[str, Any]) -> dict[str, Any]:
        def send() -> httpx.Response:
            bearer = self._bearer()
            self.ledger.spend(1, self.clock_ms())
            return self.http.post(
                self._url("/v2/research/video/query/"),
                params={"fields": FIELDS},
                json=body,
                headers={"Authorization": f"Bearer {bearer}"},
            )

        return api_calls.call(
            send,
            parse_query,
            attempts=self.settings.attempts,
            base_backoff_s=self.settings.backoff_s,
            wait=self.wait,
            on_error=self._forget_token,
        )


def query_body(settings: TikTokSettings, start: str, end: str) -> dict[str, Any]:
    """Videos from the region matching any keyword or hashtag, created in [start, end]."""
    anyof = []
    if settings.keywords:
        anyof.append(
            {"operation": "IN", "field_name": "keyword", "field_values": settings.keywords}
        )
    if settings.hashtags:
        tags = [t.lstrip("#") for t in settings.hashtags]
        anyof.append({"operation": "IN", "field_name": "hashtag_name", "field_values": tags})
    query: dict[str, object] = {
        "and": [
            {"operation": "EQ", "field_name": "region_code", "field_values": [settings.region_code]}
        ]
    }
    if anyof:
        query["or"] = anyof
    return {
        "query": query,
        "start_date": start,
        "end_date": end,
        "max_count": settings.max_count,
        "is_random": False,
    }


class TikTokPoller:
    """Each poll re-queries the videos created in the last `lookback_days` (in windows of
    at most 30 days, newest first) and pages through them: every video found is observed."""

    source = SOURCE

    def __init__(
        self,
        settings: TikTokSettings,
        http: httpx.Client,
        wait: Callable[[float], bool],
        clock_ms: Callable[[], int],
    ) -> None:
        self.settings = settings
        self.ledger = QuotaLedger(settings.requests_per_day, None)
        self.client = TikTokClient(settings, http, self.ledger, wait, clock_ms)
        self.clock_ms = clock_ms
        self.last_cost = 1
        self.tracked = 0
        self.last_snapshots = tiktok_videos([], 0)

    @property
    def tracked_count(self) -> int:
        return self.tracked

    def state(self) -> dict[str, object]:
        return {"quota": self.ledger.to_dict(), "last_cost": self.last_cost}

    def restore(self, saved: dict[str, object]) -> None:
        self.ledger.restore(saved_dict(saved.get("quota", {})))
        self.last_cost = saved_int(saved.get("last_cost", 1))

    def poll(self) -> PollResult:
        frames: list[pl.DataFrame] = []
        result = PollResult(tiktok_videos([], 0))
        today = datetime.fromtimestamp(self.clock_ms() / 1000, tz=UTC).date()
        start = today - timedelta(days=self.settings.lookback_days - 1)
        used_before = self.ledger.used
        pages = 0
        try:
            for lo, hi in date_windows(start, today):
                body = query_body(self.settings, lo.strftime("%Y%m%d"), hi.strftime("%Y%m%d"))
                cursor, search_id = 0, ""
                while pages < self.settings.max_pages_per_poll:
                    if self.ledger.remaining(self.clock_ms()) <= 0:
                        raise ApiError("quota_exceeded", detail="daily request limit reached")
                    page_body = {**body, "cursor": cursor}
                    if search_id:
                        page_body["search_id"] = search_id
                    data = self.client.query_page(page_body)
                    pages += 1
                    frames.append(tiktok_videos(list(data.get("videos") or []), self.clock_ms()))
                    if not data.get("has_more"):
                        break
                    cursor, search_id = int(data.get("cursor", 0)), str(data.get("search_id", ""))
        except ApiError as error:
            if error.kind == "quota_exceeded":
                self.ledger.mark_exhausted(self.clock_ms())
                result.quota_exhausted = True
            elif error.transient:
                result.error = error
            else:
                raise
        self.last_cost = max(1, self.ledger.used - used_before)
        if frames:
            # A video listed on two pages (its counters moved the ordering) is observed once.
            result.snapshots = pl.concat(frames).unique("item_id", keep="last", maintain_order=True)
        self.tracked = result.snapshots.height
        self.last_snapshots = result.snapshots
        return result

    def next_wait_s(self) -> float:
        return plan_wait_s(
            self.ledger,
            self.last_cost,
            self.clock_ms(),
            self.settings.min_interval_s,
            self.settings.max_interval_s,
        )
