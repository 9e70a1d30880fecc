"""Platform API responses (as JSON) into snapshot frames: one function per documented shape.

The same functions read a saved response (`pantau import --preset youtube`) and a live
one (the connectors), so an item reads the same whichever way it came in. Pure.

* YouTube Data API v3 `videos.list` (`part=snippet,statistics`): `items[]` with `id`,
  `snippet.{title, description, tags, channelId}` and `statistics.{viewCount, likeCount,
  commentCount}` as decimal strings (absent when the owner hides them). `favoriteCount`
  is deprecated and always 0, so it is not read.
* TikTok Research API `POST /v2/research/video/query/`: `data.videos[]` with `id`,
  `username`, `video_description`, `hashtag_names` and `view_count, like_count,
  comment_count, share_count, favorites_count`. `region_code` is a country, not a
  province, so it is not a `region`.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from services.sources.snapshots import SNAPSHOT_SCHEMA, hashed_creator

PRESETS = ("youtube", "tiktok")
_YOUTUBE_COUNTERS = {"view": "viewCount", "like": "likeCount", "comment": "commentCount"}
_TIKTOK_COUNTERS = {
    "view": "view_count",
    "like": "like_count",
    "comment": "comment_count",
    "share": "share_count",
    "save": "favorites_count",
}


def _count(value: Any) -> int | None:
    """A counter as the API gives it (int, or digits in a string); None when absent or bad."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _frame(columns: dict[str, list[Any]], n: int) -> pl.DataFrame:
    full = {name: columns.get(name, [None] * n) for name in SNAPSHOT_SCHEMA}
    return pl.DataFrame(full, schema=SNAPSHOT_SCHEMA).with_columns(
        line_no=pl.int_range(pl.len(), dtype=pl.Int64)
    )


def youtube_videos(
    items: list[dict[str, Any]], observed_ms: int, source: str = "youtube"
) -> pl.DataFrame:
    """Snapshot rows of `videos.list` items observed at `observed_ms` (`line_no`: item index)."""
    snippets = [item.get("snippet") or {} for item in items]
    statistics = [item.get("statistics") or {} for item in items]
    n = len(items)
    channels = pl.Series([s.get("channelId") for s in snippets], dtype=pl.String)
    columns: dict[str, list[Any]] = {
        "source": [source] * n,
        "item_id": [item.get("id") if isinstance(item.get("id"), str) else None for item in items],
        "observed_ms": [observed_ms] * n,
        "platform": ["youtube"] * n,
        "product_name": [s.get("title") for s in snippets],
        "creator_id": hashed_creator(channels, "youtube").to_list(),
        "text": [
            "\n".join(
                [s.get("title") or "", s.get("description") or "", " ".join(s.get("tags") or [])]
            ).strip()
            or None
            for s in snippets
        ],
    }
    for action, key in _YOUTUBE_COUNTERS.items():
        columns[action] = [_count(s.get(key)) for s in statistics]
    return _frame(columns, n)


def tiktok_videos(
    videos: list[dict[str, Any]], observed_ms: int, source: str = "tiktok"
) -> pl.DataFrame:
    """Snapshot rows of Research API videos observed at `observed_ms` (`line_no`: index)."""
    n = len(videos)
    names = pl.Series([v.get("username") for v in videos], dtype=pl.String)
    columns: dict[str, list[Any]] = {
        "source": [source] * n,
        "item_id": [None if v.get("id") is None else str(v["id"]) for v in videos],
        "observed_ms": [observed_ms] * n,
        "platform": ["tiktok"] * n,
        "creator_id": hashed_creator(names, "tiktok").to_list(),
        "text": [
            " ".join(
                [v.get("video_description") or ""]
                + [f"#{tag}" for tag in v.get("hashtag_names") or []]
            ).strip()
            or None
            for v in videos
        ],
    }
    for action, key in _TIKTOK_COUNTERS.items():
        columns[action] = [_count(v.get(key)) for v in videos]
    return _frame(columns, n)


def detect(document: Any) -> tuple[str, list[dict[str, Any]]] | None:
    """(preset, items) when a parsed JSON document is one of the platform shapes above."""
    if isinstance(document, dict):
        if document.get("kind") == "youtube#videoListResponse":
            return "youtube", list(document.get("items") or [])
        data = document.get("data")
        if isinstance(data, dict) and isinstance(data.get("videos"), list):
            return "tiktok", data["videos"]
        return None
    if isinstance(document, list) and document and isinstance(document[0], dict):
        first = document[0]
        if "statistics" in first or first.get("kind") == "youtube#video":
            return "youtube", document
        if "view_count" in first or "favorites_count" in first:
            return "tiktok", document
    return None


def items_of(document: Any, preset: str) -> list[dict[str, Any]]:
    """The items of a saved `preset` response, whichever way it was saved (the whole
    response, its item list, or one item per NDJSON line collected into a list)."""
    found = detect(document)
    if found is not None and found[0] == preset:
        return found[1]
    if preset == "youtube" and isinstance(document, dict) and "items" in document:
        return list(document["items"] or [])
    if isinstance(document, list):
        return [d for d in document if isinstance(d, dict)]
    raise ValueError(f"not a {preset} response: expected the response object or its items")


def preset_snapshots(
    preset: str, items: list[dict[str, Any]], observed_ms: int, source: str
) -> pl.DataFrame:
    if preset == "youtube":
        return youtube_videos(items, observed_ms, source)
    if preset == "tiktok":
        return tiktok_videos(items, observed_ms, source)
    raise ValueError(f"unknown preset {preset!r}; one of {', '.join(PRESETS)}")
