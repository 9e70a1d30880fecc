"""The YouTube connector's real client against a local server answering as the YouTube
Data API v3 documents: request shapes, quota costs, deletions, decreasing counters and
every documented failure."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
import pytest
from fake_apis import API_KEY, QUOTA_EXCEEDED, FakeYouTube
from pydantic import SecretStr

from services.sources.api_calls import ApiError
from services.sources.connector import ConnectorService, wall_clock_ms
from services.sources.event_writer import EventWriter
from services.sources.polling import PACIFIC, next_midnight_ms
from services.sources.youtube import YouTubePoller
from shared import metrics
from shared.settings import ConnectSettings, KafkaSettings, YouTubeSettings


def iso(days_ago: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def video(views: int, likes: int = 0, comments: int = 0, days_ago: float = 1.0, **more) -> dict:
    return {
        "publishedAt": iso(days_ago),
        "viewCount": views,
        "likeCount": likes,
        "commentCount": comments,
        "favoriteCount": 0,
        **more,
    }


@pytest.fixture
def fake() -> FakeYouTube:
    return FakeYouTube(
        videos={
            "vidA": video(100, 10, 1, title="Keripik pedas\nlevel 5", tags=["keripik"]),
            "vidB": video(50, 5, 0, channelId="UCsecond"),
            "vidC": video(10),
        },
        popular=["vidA", "vidB"],
        search_results={"keripik": ["vidC"]},
    )


@pytest.fixture
def api(fake: FakeYouTube, serve) -> Iterator[str]:
    with serve(fake.app()) as server:
        yield f"{server.url}/youtube/v3"


def settings(api: str, **overrides) -> YouTubeSettings:
    values = {
        "api_key": SecretStr(API_KEY),
        "base_url": api,
        "keywords": ["keripik"],
        "search_every_polls": 1,
        "min_interval_s": 0.0,
        "backoff_s": 0.01,
        "timeout_s": 2.0,
    }
    values.update(overrides)
    return YouTubeSettings(**values)


class Harness:
    """The real poller and service; events go through the real writer in dry-run mode."""

    def __init__(self, yt: YouTubeSettings, state_dir: Path) -> None:
        self.stop = threading.Event()
        self.http = httpx.Client(timeout=yt.timeout_s)
        self.poller = YouTubePoller(yt, self.http, self.stop.wait, wall_clock_ms)
        self.out = io.StringIO()
        writer = EventWriter(KafkaSettings(), dry_run=True, echo=self.out)
        self.service = ConnectorService(
            self.poller, writer, ConnectSettings(state_dir=state_dir, metrics_port=0), self.stop
        )
        self.service.restore()

    def poll(self) -> list[dict]:
        start = self.out.tell()
        self.service.poll_once()
        self.out.seek(start)
        lines = self.out.read().splitlines()
        self.out.seek(0, io.SEEK_END)
        return [orjson.loads(line) for line in lines]


def counts(events: list[dict]) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = {}
    for e in events:
        out[(e["product_id"], e["action"])] = (
            out.get((e["product_id"], e["action"]), 0) + e["count"]
        )
    return out


def test_discovers_polls_and_emits_increases(fake: FakeYouTube, api: str, tmp_path: Path) -> None:
    h = Harness(settings(api), tmp_path)
    assert h.poll() == []  # the first sight of each video sets its baseline
    assert sorted(h.poller.tracked) == ["vidA", "vidB", "vidC"]
    fake.videos["vidA"].update(viewCount=180, likeCount=12)
    fake.videos["vidC"].update(viewCount=11)
    before_ms = int(time.time() * 1000)
    events = h.poll()
    assert counts(events) == {
        ("youtube:vidA", "view"): 80,
        ("youtube:vidA", "like"): 2,
        ("youtube:vidC", "view"): 1,
    }
    first = next(e for e in events if e["product_id"] == "youtube:vidA")
    assert first["platform"] == "youtube" and first["ts"] >= before_ms
    assert first["product_name"] == "Keripik pedas level 5"  # a newline would fail validation
    assert first["creator_id"].startswith("c-") and "UCchannel" not in first["creator_id"]
    # Request shapes: the key on every call, the chart in region ID, stats by id, search.
    kinds = [kind for kind, _ in fake.requests]
    assert kinds.count("search") == 2
    chart = next(p for k, p in fake.requests if k == "videos" and "chart" in p)
    assert chart["regionCode"] == "ID" and chart["maxResults"] == "50"
    by_id = [p for k, p in fake.requests if k == "videos" and "id" in p]
    assert all(p["part"] == "snippet,statistics" and p["key"] == API_KEY for p in by_id)
    # The ledger charges what the API charges: 100 a search, 1 a videos.list call.
    assert h.poller.ledger.used == fake.units_used == 2 * (100 + 1 + 1)


def test_ids_are_polled_fifty_a_call(fake: FakeYouTube, api: str, tmp_path: Path) -> None:
    for i in range(120):
        fake.videos[f"many{i:03d}"] = video(i)
    fake.popular = [f"many{i:03d}" for i in range(120)]
    fake.search_results = {}
    h = Harness(settings(api, keywords=[], popular_pages=3), tmp_path)
    h.poll()
    by_id = [p["id"].split(",") for k, p in fake.requests if k == "videos" and "id" in p]
    assert [len(ids) for ids in by_id] == [50, 50, 20]
    assert h.poller.tracked_count == 120


def test_decrease_is_a_correction_and_the_baseline_moves_down(
    fake: FakeYouTube, api: str, tmp_path: Path
) -> None:
    h = Harness(settings(api), tmp_path)
    h.poll()
    fake.videos["vidA"].update(viewCount=150, likeCount=7)  # likes removed
    corrections = metrics.CONNECT_CORRECTIONS._value.get()
    assert counts(h.poll()) == {("youtube:vidA", "view"): 50}
    assert metrics.CONNECT_CORRECTIONS._value.get() == corrections + 1
    fake.videos["vidA"].update(likeCount=9)
    assert counts(h.poll()) == {("youtube:vidA", "like"): 2}  # from 7, not from 10


def test_deleted_video_is_dropped(fake: FakeYouTube, api: str, tmp_path: Path) -> None:
    h = Harness(settings(api, keywords=[]), tmp_path)
    h.poll()
    del fake.videos["vidB"]
    fake.popular = ["vidA"]
    fake.videos["vidA"].update(viewCount=101)
    assert counts(h.poll()) == {("youtube:vidA", "view"): 1}
    assert "vidB" not in h.poller.tracked
    fake.requests.clear()
    h.poll()
    asked = {i for k, p in fake.requests if "id" in p for i in p["id"].split(",")}
    assert asked == {"vidA"}


def test_videos_past_the_age_limit_are_not_polled(
    fake: FakeYouTube, api: str, tmp_path: Path
) -> None:
    fake.videos["vidB"]["publishedAt"] = iso(30)
    h = Harness(settings(api, max_age_s=7 * 86_400), tmp_path)
    h.poll()
    assert sorted(h.poller.tracked) == ["vidA", "vidC"]


@pytest.mark.parametrize(
    "failure",
    [
        (500, "backendError", "Backend Error"),
        (503, "backendError", "The service is currently unavailable."),
        (403, "rateLimitExceeded", "The request cannot be completed: rate limit.", "youtube.quota"),
        "malformed",
    ],
)
def test_transient_failures_are_retried(
    fake: FakeYouTube, api: str, tmp_path: Path, failure
) -> None:
    h = Harness(settings(api), tmp_path)
    h.poll()
    fake.videos["vidA"].update(viewCount=130)
    fake.failures.extend([failure, failure])
    assert counts(h.poll()) == {("youtube:vidA", "view"): 30}


def test_a_timeout_is_retried(fake: FakeYouTube, api: str, tmp_path: Path, serve) -> None:
    """The server answers slower than the client waits, once."""
    h = Harness(settings(api, timeout_s=0.3), tmp_path)
    h.poll()
    fake.videos["vidA"].update(viewCount=140)
    timeouts = metrics.CONNECT_API_ERRORS.labels(reason="timeout")._value.get()
    fake.failures.append("slow")
    assert counts(h.poll()) == {("youtube:vidA", "view"): 40}
    assert metrics.CONNECT_API_ERRORS.labels(reason="timeout")._value.get() == timeouts + 1


def test_persistent_5xx_fails_the_poll_without_losing_counts(
    fake: FakeYouTube, api: str, tmp_path: Path
) -> None:
    h = Harness(settings(api, attempts=2, keywords=[]), tmp_path)
    h.poll()
    fake.videos["vidA"].update(viewCount=120)
    fake.failures.extend([(500, "backendError", "Backend Error")] * 2)
    assert h.poll() == []
    assert counts(h.poll()) == {("youtube:vidA", "view"): 20}  # the next poll catches up


def test_quota_exceeded_waits_for_midnight_pacific(
    fake: FakeYouTube, api: str, tmp_path: Path
) -> None:
    h = Harness(settings(api), tmp_path)
    fake.failures.append(QUOTA_EXCEEDED)
    h.poll()
    now_ms = int(time.time() * 1000)
    reset_ms = next_midnight_ms(now_ms, PACIFIC)
    assert abs(h.service.next_poll_ms - reset_ms) <= 5_000
    assert h.poller.ledger.remaining(now_ms) == 0
    # A restart keeps waiting: it makes no call before the reset.
    fake.requests.clear()
    again = Harness(settings(api), tmp_path)
    assert again.service.next_poll_ms == h.service.next_poll_ms
    again.stop.set()
    again.service.run()
    assert fake.requests == []


def test_the_interval_spreads_the_quota_over_the_day(
    fake: FakeYouTube, api: str, tmp_path: Path
) -> None:
    h = Harness(
        settings(api, quota_units_per_day=10_000, search_every_polls=4, popular_pages=1), tmp_path
    )
    h.poll()
    cost = h.poller.poll_cost()  # 1 chart page + 1 videos call + 100 * 1/4 search
    assert cost == 1 + 1 + 25
    now_ms = int(time.time() * 1000)
    to_reset_s = (next_midnight_ms(now_ms, PACIFIC) - now_ms) / 1000
    polls_left = h.poller.ledger.remaining(now_ms) / cost
    assert h.poller.next_wait_s() == pytest.approx(to_reset_s / polls_left, rel=0.01)


def test_an_invalid_key_stops_the_connector(fake: FakeYouTube, api: str, tmp_path: Path) -> None:
    h = Harness(settings(api, api_key=SecretStr("wrong")), tmp_path)
    with pytest.raises(ApiError) as raised:
        h.poll()
    assert raised.value.kind == "rejected" and raised.value.reason == "keyInvalid"


def test_events_of_an_interrupted_poll_are_resent_never_double_counted(
    fake: FakeYouTube, api: str, tmp_path: Path
) -> None:
    """The sink fails after the poll's events were computed: the restart re-sends them
    under the same ids, and the next poll counts only what came after."""
    h = Harness(settings(api, keywords=[]), tmp_path)
    h.poll()
    fake.videos["vidA"].update(viewCount=160)
    h.out.close()  # the sink is gone when the events are delivered
    with pytest.raises(ValueError):
        h.service.poll_once()
    again = Harness(settings(api, keywords=[]), tmp_path)
    resent = [orjson.loads(line) for line in again.out.getvalue().splitlines()]
    assert counts(resent) == {("youtube:vidA", "view"): 60}
    fake.videos["vidA"].update(viewCount=170)
    assert counts(again.poll()) == {("youtube:vidA", "view"): 10}
    again.out.truncate(0)
    third = Harness(settings(api, keywords=[]), tmp_path)  # a clean restart re-sends nothing
    assert third.out.getvalue() == ""
