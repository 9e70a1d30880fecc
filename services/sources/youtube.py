"""YouTube Data API v3: discover videos, poll their counters, turn responses into snapshots.

Calls (API key in the `key` parameter; quota cost in units, from the API reference):
`videos.list?chart=mostPopular&regionCode=ID` (1 per page of 50) and `search.list?q=…
&type=video` (100) discover videos; `videos.list?part=snippet,statistics&id=…` (1 per 50
ids) polls them. A video missing from a `videos.list` answer was deleted or made private.
Items become snapshots as a saved response does in `pantau import` (`sources.presets`).
Errors answer `{"error": {"code", "message", "errors": [{"domain", "reason", ...}]}}`;
`403 quotaExceeded` means the day's units are spent until midnight Pacific time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import polars as pl

from services.sources import api_calls
from services.sources.api_calls import ApiError
from services.sources.checkpoint_dir import saved_dict, saved_int
from services.sources.connector import PollResult
from services.sources.polling import PACIFIC, QuotaLedger, plan_wait_s, youtube_poll_cost
from services.sources.presets import youtube_videos
from shared.settings import YouTubeSettings

SOURCE = "youtube"
IDS_PER_CALL = 50
QUOTA_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded"})
RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})


def parse_response(response: httpx.Response) -> dict[str, Any]:
    """The JSON body of a 2xx answer holding `items`, or ApiError with the documented reason."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.is_success:
        if not isinstance(body, dict) or not isinstance(body.get("items"), list):
            raise ApiError("malformed", response.status_code, detail=response.text[:200])
        return body
    error = body.get("error") if isinstance(body, dict) else None
    reasons = [e.get("reason", "") for e in (error or {}).get("errors", []) if isinstance(e, dict)]
    reason = reasons[0] if reasons else ""
    message = str((error or {}).get("message", response.text[:200]))
    if any(r in QUOTA_REASONS for r in reasons):
        kind = "quota_exceeded"
    elif any(r in RATE_REASONS for r in reasons):
        kind = "rate_limited"
    else:
        kind = api_calls.status_kind(response.status_code)
    raise ApiError(kind, response.status_code, reason, message)


class YouTubeClient:
    """The three calls the connector makes; each attempt is charged to the quota ledger."""

    def __init__(
        self,
        settings: YouTubeSettings,
        http: httpx.Client,
        ledger: QuotaLedger,
        wait: Callable[[float], bool],
        clock_ms: Callable[[], int],
    ) -> None:
        self.settings, self.http, self.ledger = settings, http, ledger
        self.wait, self.clock_ms = wait, clock_ms

    def _get(self, resource: str, params: dict[str, str], units: int) -> dict[str, Any]:
        url = f"{self.settings.base_url.rstrip('/')}/{resource}"
        key = self.settings.api_key.get_secret_value()

        def send() -> httpx.Response:
            self.ledger.spend(units, self.clock_ms())
            return self.http.get(url, params={**params, "key": key})

        return api_calls.call(
            send,
            parse_response,
            attempts=self.settings.attempts,
            base_backoff_s=self.settings.backoff_s,
            wait=self.wait,
        )

    def most_popular(self, page_token: str = "") -> dict[str, Any]:
        params = {
            "part": "snippet,statistics",
            "chart": "mostPopular",
            "regionCode": self.settings.region_code,
            "maxResults": str(IDS_PER_CALL),
        }
        if page_token:
            params["pageToken"] = page_token
        return self._get("videos", params, 1)

    def search(self, keyword: str, published_after: str) -> dict[str, Any]:
        params = {
            "part": "snippet",
            "q": keyword,
            "type": "video",
            "regionCode": self.settings.region_code,
            "order": "date",
            "maxResults": str(IDS_PER_CALL),
            "publishedAfter": published_after,
        }
        return self._get("search", params, 100)

    def videos(self, ids: list[str]) -> dict[str, Any]:
        assert len(ids) <= IDS_PER_CALL
        params = {"part": "snippet,statistics", "id": ",".join(ids), "maxResults": "50"}
        return self._get("videos", params, 1)


def published_ms(items: list[dict[str, Any]]) -> dict[str, int]:
    """Video id → publication time (epoch ms) of `videos.list` or `search.list` items."""
    if not items:
        return {}
    flat = pl.json_normalize(items, infer_schema_length=None)
    id_col = "id.videoId" if "id.videoId" in flat.columns else "id"
    if id_col not in flat.columns or "snippet.publishedAt" not in flat.columns:
        return {}
    rows = flat.select(
        pl.col(id_col).cast(pl.String),
        pl.col("snippet.publishedAt").str.to_datetime(time_zone="UTC", strict=False).dt.epoch("ms"),
    ).drop_nulls()
    return dict(rows.iter_rows())


class YouTubePoller:
    """Discovers videos (chart every poll, keyword search every few polls), then polls the
    counters of every tracked video; forgets deleted videos and those past the age limit."""

    source = SOURCE

    def __init__(
        self,
        settings: YouTubeSettings,
        http: httpx.Client,
        wait: Callable[[float], bool],
        clock_ms: Callable[[], int],
    ) -> None:
        self.settings = settings
        self.ledger = QuotaLedger(settings.quota_units_per_day, PACIFIC)
        self.client = YouTubeClient(settings, http, self.ledger, wait, clock_ms)
        self.clock_ms = clock_ms
        self.tracked: dict[str, int] = {}  # video id → published (epoch ms)
        self.polls = 0

    # -- state ---------------------------------------------------------------------------
    def state(self) -> dict[str, object]:
        return {"tracked": self.tracked, "polls": self.polls, "quota": self.ledger.to_dict()}

    def restore(self, saved: dict[str, object]) -> None:
        tracked = saved_dict(saved.get("tracked", {}))
        self.tracked = {str(k): saved_int(v) for k, v in tracked.items()}
        self.polls = saved_int(saved.get("polls", 0))
        self.ledger.restore(saved_dict(saved.get("quota", {})))

    # -- one poll -------------------------------------------------------------------------
    def poll(self) -> PollResult:
        """Discover, prune, poll. A spent quota ends the poll with what it observed so far."""
        frames: list[pl.DataFrame] = []
        result = PollResult(pl.DataFrame())
        try:
            result.dropped["capacity"] = self._discover()
            result.dropped["aged"] = self._drop_aged(self.clock_ms())
            ids = sorted(self.tracked)
            deleted = 0
            for start in range(0, len(ids), IDS_PER_CALL):
                batch = ids[start : start + IDS_PER_CALL]
                items = self.client.videos(batch)["items"]
                frames.append(youtube_videos(items, self.clock_ms()))
                seen = {str(item.get("id")) for item in items}
                for video_id in batch:
                    if video_id not in seen:
                        self.tracked.pop(video_id, None)
                        deleted += 1
            result.dropped["deleted"] = deleted
        except ApiError as error:
            if error.kind == "quota_exceeded":
                self.ledger.mark_exhausted(self.clock_ms())
                result.quota_exhausted = True
            elif error.transient:
                result.error = error
            else:
                raise
        self.polls += 1
        result.snapshots = pl.concat(frames) if frames else youtube_videos([], 0)
        return result

    def _discover(self) -> int:
        now_ms = self.clock_ms()
        found: dict[str, int] = {}
        token = ""
        for _ in range(self.settings.popular_pages):
            page = self.client.most_popular(token)
            found.update(published_ms(page["items"]))
            token = str(page.get("nextPageToken") or "")
            if not token:
                break
        if self.settings.keywords and self.polls % self.settings.search_every_polls == 0:
            after_s = now_ms / 1000 - self.settings.max_age_s
            after = datetime.fromtimestamp(after_s, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            for keyword in self.settings.keywords:
                found.update(published_ms(self.client.search(keyword, after)["items"]))
        for video_id, published in found.items():
            self.tracked.setdefault(video_id, published)
        return self._cap()

    def _cap(self) -> int:
        """Keep the newest `max_tracked` videos (they are the ones still growing); returns
        how many were let go."""
        excess = len(self.tracked) - self.settings.max_tracked
        oldest = sorted(self.tracked, key=lambda v: (self.tracked[v], v))[: max(0, excess)]
        for video_id in oldest:
            del self.tracked[video_id]
        return len(oldest)

    def _drop_aged(self, now_ms: int) -> int:
        limit_ms = now_ms - self.settings.max_age_s * 1000
        aged = [v for v, published in self.tracked.items() if published < limit_ms]
        for video_id in aged:
            del self.tracked[video_id]
        return len(aged)

    @property
    def tracked_count(self) -> int:
        return len(self.tracked)

    def poll_cost(self) -> int:
        searches_per_poll = len(self.settings.keywords) / self.settings.search_every_polls
        return youtube_poll_cost(len(self.tracked), self.settings.popular_pages, searches_per_poll)

    def next_wait_s(self) -> float:
        return plan_wait_s(
            self.ledger,
            self.poll_cost(),
            self.clock_ms(),
            self.settings.min_interval_s,
            self.settings.max_interval_s,
        )
