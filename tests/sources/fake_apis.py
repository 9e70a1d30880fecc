"""Local servers that answer as the YouTube Data API v3 and the TikTok Research API
document, including their failures. Each holds a small, hand-made world (videos and their
counters) that a test changes between polls, records every request it got, and can be
told to fail the next requests in a documented way."""

from __future__ import annotations

import itertools
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

API_KEY = "AIzaTestKey0123456789"
CLIENT_KEY = "awtestclientkey"
CLIENT_SECRET = "test-client-secret-0123"


def youtube_error(status: int, reason: str, message: str, domain: str = "global") -> Response:
    """An error answer in the documented shape."""
    return JSONResponse(
        {
            "error": {
                "code": status,
                "message": message,
                "errors": [{"message": message, "domain": domain, "reason": reason}],
            }
        },
        status_code=status,
    )


QUOTA_EXCEEDED = (
    403,
    "quotaExceeded",
    "The request cannot be completed because you have exceeded your quota.",
    "youtube.quota",
)


@dataclass
class FakeYouTube:
    """videos: id → {"publishedAt", "title", "channelId", "viewCount", ...}."""

    videos: dict[str, dict[str, Any]] = field(default_factory=dict)
    popular: list[str] = field(default_factory=list)
    search_results: dict[str, list[str]] = field(default_factory=dict)
    units_per_day: int = 10_000
    units_used: int = 0
    failures: deque[Any] = field(default_factory=deque)  # ("status", reason...) or "malformed"
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    growth: dict[str, int] = field(default_factory=dict)  # views added per poll of the id

    def resource(self, video_id: str, parts: set[str]) -> dict[str, Any]:
        v = self.videos[video_id]
        item: dict[str, Any] = {"kind": "youtube#video", "etag": f"e{video_id}", "id": video_id}
        if "snippet" in parts:
            item["snippet"] = {
                "publishedAt": v["publishedAt"],
                "channelId": v.get("channelId", "UCchannel"),
                "title": v.get("title", f"Video {video_id}"),
                "description": v.get("description", ""),
                "channelTitle": "Channel",
                "tags": v.get("tags", []),
                "categoryId": "22",
            }
        if "statistics" in parts:
            # Counts are strings (uint64) in the API; a hidden like count is absent.
            item["statistics"] = {
                k: str(v[k])
                for k in ("viewCount", "likeCount", "favoriteCount", "commentCount")
                if k in v
            }
        return item

    def app(self) -> FastAPI:
        app = FastAPI()

        def charge(units: int) -> Response | None:
            if self.units_used + units > self.units_per_day:
                return youtube_error(*QUOTA_EXCEEDED)
            self.units_used += units
            return None

        def check(params: dict[str, str]) -> Response | None:
            if self.failures:
                failure = self.failures.popleft()
                if failure == "malformed":
                    return PlainTextResponse("<html>Bad Gateway</html>", status_code=200)
                if failure == "slow":
                    time.sleep(1.0)  # longer than the client waits
                    return None
                return youtube_error(*failure)
            if params.get("key") != API_KEY:
                return youtube_error(
                    400,
                    "keyInvalid",
                    "API key not valid. Please pass a valid API key.",
                    "usageLimits",
                )
            return None

        @app.get("/youtube/v3/videos")
        def videos(request: Request) -> Response:
            params = dict(request.query_params)
            self.requests.append(("videos", params))
            if (bad := check(params)) is not None:
                return bad
            parts = set(params.get("part", "").split(","))
            if not parts or parts == {""}:
                return youtube_error(400, "missingRequiredParameter", "No filter selected.")
            if (spent := charge(1)) is not None:
                return spent
            if "id" in params:
                ids = params["id"].split(",")
                if len(ids) > 50:
                    return youtube_error(400, "invalidValue", "too many ids")
                for i in ids:
                    if i in self.videos and i in self.growth:
                        self.videos[i]["viewCount"] += self.growth[i]
                items = [self.resource(i, parts) for i in ids if i in self.videos]
                return JSONResponse(
                    {
                        "kind": "youtube#videoListResponse",
                        "etag": "x",
                        "items": items,
                        "pageInfo": {"totalResults": len(items), "resultsPerPage": len(items)},
                    }
                )
            if params.get("chart") != "mostPopular" or params.get("regionCode") != "ID":
                return youtube_error(400, "invalidChart", "unsupported chart or region")
            per_page = int(params.get("maxResults", "5"))
            start = int(params.get("pageToken", "0") or 0)
            page = self.popular[start : start + per_page]
            body: dict[str, Any] = {
                "kind": "youtube#videoListResponse",
                "etag": "x",
                "items": [self.resource(i, parts) for i in page if i in self.videos],
                "pageInfo": {"totalResults": len(self.popular), "resultsPerPage": per_page},
            }
            if start + per_page < len(self.popular):
                body["nextPageToken"] = str(start + per_page)
            return JSONResponse(body)

        @app.get("/youtube/v3/search")
        def search(request: Request) -> Response:
            params = dict(request.query_params)
            self.requests.append(("search", params))
            if (bad := check(params)) is not None:
                return bad
            if params.get("part") != "snippet" or params.get("type") != "video":
                return youtube_error(400, "invalidSearchFilter", "part=snippet&type=video expected")
            if (spent := charge(100)) is not None:
                return spent
            after = params.get("publishedAfter", "1970-01-01T00:00:00Z")
            try:  # RFC 3339, e.g. 1970-01-01T00:00:00Z
                after_time = datetime.fromisoformat(after.replace("Z", "+00:00"))
            except ValueError:
                return youtube_error(400, "invalidPublishedAfterTime", "bad publishedAfter")
            ids = [
                i
                for i in self.search_results.get(params.get("q", ""), [])
                if datetime.fromisoformat(self.videos[i]["publishedAt"].replace("Z", "+00:00"))
                >= after_time
            ]
            items = [
                {
                    "kind": "youtube#searchResult",
                    "etag": "s",
                    "id": {"kind": "youtube#video", "videoId": i},
                    "snippet": {"publishedAt": self.videos[i]["publishedAt"], "title": "t"},
                }
                for i in ids
                if i in self.videos
            ]
            return JSONResponse({"kind": "youtube#searchListResponse", "items": items})

        return app


def tiktok_error(status: int, code: str, message: str) -> Response:
    return JSONResponse(
        {"data": {}, "error": {"code": code, "message": message, "log_id": "20261207LOG"}},
        status_code=status,
    )


@dataclass
class FakeTikTok:
    """videos: list of video objects (id, create_time, username, counters, ...)."""

    videos: list[dict[str, Any]] = field(default_factory=list)
    page_size_cap: int = 100
    requests_per_day: int = 1_000
    requests_used: int = 0
    token_lifetime_s: int = 7_200
    failures: deque[Any] = field(default_factory=deque)  # (status, code) or "malformed"
    tokens: list[str] = field(default_factory=list)
    revoked: set[str] = field(default_factory=set)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    queries: list[dict[str, Any]] = field(default_factory=list)
    searches: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(7_400_000_000))

    def expire_tokens(self) -> None:
        """Every token issued so far is now invalid (as after their 2 hours)."""
        self.revoked.update(self.tokens)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v2/oauth/token/")
        async def token(request: Request) -> Response:
            if request.headers.get("content-type") != "application/x-www-form-urlencoded":
                return JSONResponse(
                    {"error": "invalid_request", "error_description": "content type"}, 400
                )
            form = dict(parse_qsl((await request.body()).decode()))
            self.token_requests.append({k: str(v) for k, v in form.items()})
            if form.get("grant_type") != "client_credentials":
                return JSONResponse(
                    {"error": "unsupported_grant_type", "error_description": "x", "log_id": "l"},
                    400,
                )
            if form.get("client_key") != CLIENT_KEY or form.get("client_secret") != CLIENT_SECRET:
                return JSONResponse(
                    {
                        "error": "invalid_client",
                        "error_description": "Client key or secret is incorrect.",
                        "log_id": "l",
                    },
                    401,
                )
            value = f"clt.token{len(self.tokens)}"
            self.tokens.append(value)
            return JSONResponse(
                {"access_token": value, "expires_in": self.token_lifetime_s, "token_type": "Bearer"}
            )

        @app.post("/v2/research/video/query/")
        async def query(request: Request) -> Response:
            auth = request.headers.get("authorization", "")
            body = await request.json()
            fields = request.query_params.get("fields", "")
            self.queries.append({"auth": auth, "fields": fields, "body": body})
            if self.failures:
                failure = self.failures.popleft()
                if failure == "malformed":
                    return PlainTextResponse("upstream connect error", status_code=200)
                return tiktok_error(*failure)
            bearer = auth.removeprefix("Bearer ").removeprefix("bearer ")
            if bearer not in self.tokens or bearer in self.revoked:
                return tiktok_error(
                    401,
                    "access_token_invalid",
                    "The access token is invalid or not found in the request.",
                )
            if request.headers.get("content-type") != "application/json":
                return tiktok_error(400, "invalid_params", "content type")
            if self.requests_used >= self.requests_per_day:
                return tiktok_error(429, "daily_quota_limit_exceeded", "daily quota reached")
            self.requests_used += 1
            problem = self._invalid(body, fields)
            if problem:
                return tiktok_error(400, "invalid_params", problem)
            matches = self._match(body)
            search_id = body.get("search_id") or ""
            if search_id:
                if search_id not in self.searches:
                    return tiktok_error(
                        400, "invalid_params", f"Search Id {search_id} is invalid or expired"
                    )
                matches = self.searches[search_id]
            else:
                search_id = str(next(self._ids))
                self.searches[search_id] = matches
            cursor = int(body.get("cursor", 0))
            count = min(int(body.get("max_count", 20)), self.page_size_cap)
            page = matches[cursor : cursor + count]
            wanted = set(fields.split(","))
            return JSONResponse(
                {
                    "data": {
                        "videos": [
                            {k: v for k, v in video.items() if k in wanted} for video in page
                        ],
                        "cursor": cursor + len(page),
                        "has_more": cursor + len(page) < len(matches),
                        "search_id": search_id,
                    },
                    "error": {"code": "ok", "message": "", "log_id": "20261207LOG"},
                }
            )

        return app

    @staticmethod
    def _invalid(body: dict[str, Any], fields: str) -> str:
        for key in ("query", "start_date", "end_date"):
            if key not in body:
                return f"{key} is required"
        if not fields or "id" not in fields.split(","):
            return "fields is required"
        from datetime import datetime

        start = datetime.strptime(body["start_date"], "%Y%m%d")
        end = datetime.strptime(body["end_date"], "%Y%m%d")
        if end < start or (end - start).days > 30:
            return "end_date must be no more than 30 days after start_date"
        if int(body.get("max_count", 20)) > 100:
            return "max_count must be at most 100"
        return ""

    def _match(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        from datetime import UTC, datetime

        start = datetime.strptime(body["start_date"], "%Y%m%d").replace(tzinfo=UTC).timestamp()
        end = datetime.strptime(body["end_date"], "%Y%m%d").replace(tzinfo=UTC).timestamp() + 86_400
        query = body["query"]
        regions = [
            v
            for c in query.get("and", [])
            if c["field_name"] == "region_code"
            for v in c["field_values"]
        ]
        words = [
            v.lower()
            for c in query.get("or", [])
            if c["field_name"] == "keyword"
            for v in c["field_values"]
        ]
        tags = [
            v.lower()
            for c in query.get("or", [])
            if c["field_name"] == "hashtag_name"
            for v in c["field_values"]
        ]
        out = []
        for video in self.videos:
            if not start <= video["create_time"] < end:
                continue
            if regions and video.get("region_code") not in regions:
                continue
            text = video.get("video_description", "").lower()
            hashtags = [h.lower() for h in video.get("hashtag_names", [])]
            if (words or tags) and not (
                any(w in text for w in words) or any(t in hashtags for t in tags)
            ):
                continue
            out.append(video)
        return out
