"""The TikTok connector's real client against a local server answering as the Research API
documents: token grant, query and paging shapes, the 30-day window, the daily limit and
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
from fake_apis import CLIENT_KEY, CLIENT_SECRET, FakeTikTok
from pydantic import SecretStr

from services.sources.api_calls import ApiError
from services.sources.connector import ConnectorService, wall_clock_ms
from services.sources.event_writer import EventWriter
from services.sources.polling import next_midnight_ms
from services.sources.posts import PostText
from services.sources.tiktok import TikTokPoller
from shared.catalogue import read_catalogue_csv
from shared.settings import ConnectSettings, KafkaSettings, TikTokSettings


def video(n: int, views: int, days_ago: float = 1.0, **more) -> dict:
    return {
        "id": 7_300_000_000_000_000_000 + n,
        "create_time": int((datetime.now(UTC) - timedelta(days=days_ago)).timestamp()),
        "region_code": "ID",
        "username": f"seller{n}",
        "video_description": f"keripik pedas enak {n}",
        "hashtag_names": ["keripik", "umkm"],
        "view_count": views,
        "like_count": 10,
        "comment_count": 1,
        "share_count": 2,
        "favorites_count": 3,
        **more,
    }


@pytest.fixture
def fake() -> FakeTikTok:
    return FakeTikTok(videos=[video(1, 1000), video(2, 500, days_ago=3), video(3, 50)])


@pytest.fixture
def base_url(fake: FakeTikTok, serve) -> Iterator[str]:
    with serve(fake.app()) as server:
        yield server.url


def settings(base_url: str, **overrides) -> TikTokSettings:
    values = {
        "client_key": CLIENT_KEY,
        "client_secret": SecretStr(CLIENT_SECRET),
        "base_url": base_url,
        "keywords": ["keripik"],
        "hashtags": ["#sambal"],
        "min_interval_s": 0.0,
        "backoff_s": 0.01,
        "timeout_s": 5.0,
    }
    values.update(overrides)
    return TikTokSettings(**values)


class Harness:
    def __init__(self, tt: TikTokSettings, state_dir: Path, text: PostText | None = None) -> None:
        self.stop = threading.Event()
        self.poller = TikTokPoller(
            tt, httpx.Client(timeout=tt.timeout_s), self.stop.wait, wall_clock_ms
        )
        self.out = io.StringIO()
        writer = EventWriter(KafkaSettings(), dry_run=True, echo=self.out)
        self.service = ConnectorService(
            self.poller,
            writer,
            ConnectSettings(state_dir=state_dir, metrics_port=0),
            self.stop,
            text=text,
        )
        self.service.restore()

    def poll(self) -> list[dict]:
        start = self.out.tell()
        self.service.poll_once()
        self.out.seek(start)
        events = [orjson.loads(line) for line in self.out.read().splitlines()]
        self.out.seek(0, io.SEEK_END)
        return events


def counts(events: list[dict]) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = {}
    for e in events:
        key = (e["product_id"].split(":")[1][-1], e["action"])
        out[key] = out.get(key, 0) + e["count"]
    return out


def test_token_query_and_counters(fake: FakeTikTok, base_url: str, tmp_path: Path) -> None:
    h = Harness(settings(base_url), tmp_path)
    assert h.poll() == []
    fake.videos[0].update(view_count=1500, favorites_count=5, like_count=9)  # a like removed
    events = h.poll()
    assert counts(events) == {("1", "view"): 500, ("1", "save"): 2}
    e = next(e for e in events if e["action"] == "view")
    assert e["product_id"] == f"tiktok:{fake.videos[0]['id']}" and e["platform"] == "tiktok"
    assert e["creator_id"].startswith("c-") and "seller" not in e["creator_id"]
    # The documented token grant, once for both polls (it lives two hours).
    assert fake.token_requests == [
        {
            "client_key": CLIENT_KEY,
            "client_secret": CLIENT_SECRET,
            "grant_type": "client_credentials",
        }
    ]
    query = fake.queries[0]
    assert query["auth"] == "Bearer clt.token0"
    assert set(query["fields"].split(",")) >= {
        "id", "view_count", "like_count", "comment_count", "share_count", "favorites_count",
        "username", "video_description", "hashtag_names",
    }  # fmt: skip
    body = query["body"]
    assert body["query"]["and"] == [
        {"operation": "EQ", "field_name": "region_code", "field_values": ["ID"]}
    ]
    assert {"operation": "IN", "field_name": "hashtag_name", "field_values": ["sambal"]} in body[
        "query"
    ]["or"]
    assert body["max_count"] == 100 and body["cursor"] == 0 and "search_id" not in body
    # Description and hashtags are kept as snapshot text for product matching.
    snap = h.poller.last_snapshots
    assert snap.filter(snap["item_id"] == str(fake.videos[0]["id"]))["text"][0] == (
        "keripik pedas enak 1 #keripik #umkm"
    )


def test_with_a_catalogue_videos_count_for_the_products_they_name(
    fake: FakeTikTok, base_url: str, tmp_path: Path
) -> None:
    catalogue = read_catalogue_csv(Path(__file__).parents[1] / "data" / "catalogue.csv")
    fake.videos[0]["video_description"] = "keripik pisang coklat lumer bgt"
    h = Harness(settings(base_url), tmp_path, PostText.of(catalogue, terms=False))
    assert h.poll() == []
    fake.videos[0].update(view_count=1500)
    fake.videos[1].update(view_count=fake.videos[1]["view_count"] + 7)
    views = {e["product_id"]: e["count"] for e in h.poll() if e["action"] == "view"}
    assert views == {"keripik-pisang-coklat": 500, f"tiktok:{fake.videos[1]['id']}": 7}


def test_pages_by_cursor_and_search_id(fake: FakeTikTok, base_url: str, tmp_path: Path) -> None:
    fake.videos = [video(n, 100 + n) for n in range(250)]
    h = Harness(settings(base_url), tmp_path)
    h.poll()
    pages = [q["body"] for q in fake.queries]
    assert [p["cursor"] for p in pages] == [0, 100, 200]
    assert pages[0].get("search_id") is None
    assert pages[1]["search_id"] == pages[2]["search_id"] != ""
    assert h.poller.tracked_count == 250


def test_date_range_is_cut_into_30_day_windows(
    fake: FakeTikTok, base_url: str, tmp_path: Path
) -> None:
    fake.videos = [video(1, 10, days_ago=1), video(2, 10, days_ago=40)]
    h = Harness(settings(base_url, lookback_days=45), tmp_path)
    h.poll()  # the fake refuses a window over 30 days with invalid_params
    windows = [(q["body"]["start_date"], q["body"]["end_date"]) for q in fake.queries]
    assert len(windows) == 2
    assert h.poller.tracked_count == 2


def test_expired_token_is_renewed_and_the_call_retried(
    fake: FakeTikTok, base_url: str, tmp_path: Path
) -> None:
    h = Harness(settings(base_url), tmp_path)
    h.poll()
    fake.expire_tokens()
    fake.videos[2].update(view_count=80)
    assert counts(h.poll()) == {("3", "view"): 30}
    assert len(fake.token_requests) == 2
    assert fake.queries[-1]["auth"] == "Bearer clt.token1"


def test_token_is_renewed_before_it_expires(
    fake: FakeTikTok, base_url: str, tmp_path: Path
) -> None:
    fake.token_lifetime_s = 300  # inside the 300 s renewal margin from the start
    h = Harness(settings(base_url), tmp_path)
    h.poll()
    h.poll()
    assert len(fake.token_requests) == 2
    assert [q["auth"] for q in fake.queries] == ["Bearer clt.token0", "Bearer clt.token1"]


@pytest.mark.parametrize(
    "failure",
    [(429, "rate_limit_exceeded", "The API rate limit was exceeded."),
     (500, "internal_error", "Something went wrong."),
     "malformed"],
)  # fmt: skip
def test_transient_failures_are_retried(
    fake: FakeTikTok, base_url: str, tmp_path: Path, failure
) -> None:
    h = Harness(settings(base_url), tmp_path)
    h.poll()
    fake.videos[1].update(share_count=9)
    fake.failures.extend([failure, failure])
    assert counts(h.poll()) == {("2", "share"): 7}


def test_daily_request_limit_waits_for_midnight_utc(
    fake: FakeTikTok, base_url: str, tmp_path: Path
) -> None:
    fake.videos = [video(n, 100) for n in range(250)]
    h = Harness(settings(base_url, requests_per_day=2), tmp_path)
    h.poll()
    assert len(fake.queries) == 2  # the third page would pass the day's limit
    now_ms = int(time.time() * 1000)
    assert abs(h.service.next_poll_ms - next_midnight_ms(now_ms)) <= 5_000


def test_the_apis_own_quota_answer_waits_too(
    fake: FakeTikTok, base_url: str, tmp_path: Path
) -> None:
    fake.requests_per_day = 0
    h = Harness(settings(base_url), tmp_path)
    h.poll()
    assert h.poller.ledger.exhausted
    now_ms = int(time.time() * 1000)
    assert abs(h.service.next_poll_ms - next_midnight_ms(now_ms)) <= 5_000


def test_wrong_client_secret_stops_the_connector(
    fake: FakeTikTok, base_url: str, tmp_path: Path
) -> None:
    h = Harness(settings(base_url, client_secret=SecretStr("nope")), tmp_path)
    with pytest.raises(ApiError) as raised:
        h.poll()
    assert raised.value.kind == "rejected" and raised.value.reason == "invalid_client"


def test_a_deleted_video_emits_nothing_more(
    fake: FakeTikTok, base_url: str, tmp_path: Path
) -> None:
    h = Harness(settings(base_url), tmp_path)
    h.poll()
    del fake.videos[0]
    fake.videos[0].update(view_count=600)
    assert counts(h.poll()) == {("2", "view"): 100}
