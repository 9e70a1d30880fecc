"""A connector's events go through the real broker into a real `pantau ingest` process,
and the features that come out count exactly the counters' increases.

The connector is the real code polling a local server that answers as the YouTube Data
API does, over real HTTP, with a simulated clock so that six polls five minutes apart
take a second; a restart between polls resumes from its checkpoint.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import httpx
import polars as pl
import pytest
from _ingest import IngestProcess, ingest_env, published_dead_letters, published_features
from _ingest import wait_caught_up as caught_up

sys.path.insert(0, str(Path(__file__).parents[1] / "sources"))
from fake_apis import API_KEY, FakeYouTube
from pydantic import SecretStr

from services.sources.connector import ConnectorService
from services.sources.event_writer import EventWriter
from services.sources.youtube import YouTubePoller
from shared.kafka import ensure_topics
from shared.settings import ConnectSettings, KafkaSettings, YouTubeSettings

pytestmark = pytest.mark.kafka

T0_MS = 1_772_409_600_000 + 30_000  # 2026-03-02T00:00:30Z
STEP_MS = 300_000  # a poll every 5 minutes, each inside its own 5-minute bucket
POLLS = 7


class SimulatedClock:
    def __init__(self, now_ms: int) -> None:
        self.now_ms = now_ms

    def __call__(self) -> int:
        return self.now_ms


def connector(
    base_url: str, kafka: KafkaSettings, state_dir: Path, clock: SimulatedClock
) -> ConnectorService:
    stop = threading.Event()
    settings = YouTubeSettings(
        api_key=SecretStr(API_KEY),
        base_url=base_url,
        keywords=[],
        popular_pages=1,
        min_interval_s=0,
        backoff_s=0.01,
    )
    poller = YouTubePoller(settings, httpx.Client(timeout=10), stop.wait, clock)
    service = ConnectorService(
        poller,
        EventWriter(kafka),
        ConnectSettings(state_dir=state_dir, metrics_port=0),
        stop,
        clock_ms=clock,
    )
    service.restore()
    return service


def test_youtube_counters_become_features(
    kafka_settings: KafkaSettings, tmp_path: Path, serve
) -> None:
    ensure_topics(kafka_settings)
    published = "2026-03-01T12:00:00Z"
    fake = FakeYouTube(
        videos={
            "vidA": {"publishedAt": published, "title": "Sambal roa", "viewCount": 1000,
                     "likeCount": 50, "commentCount": 5},
            "vidB": {"publishedAt": published, "title": "Keripik", "viewCount": 300,
                     "likeCount": 9, "commentCount": 1},
        },
        popular=["vidA", "vidB"],
    )  # fmt: skip
    clock = SimulatedClock(T0_MS)
    sent: list[tuple[int, str, str, int]] = []  # (ts, product, action, count) the API moved
    with serve(fake.app()) as server:
        base_url = f"{server.url}/youtube/v3"
        service = connector(base_url, kafka_settings, tmp_path / "connect", clock)
        for i in range(POLLS):
            clock.now_ms = T0_MS + i * STEP_MS
            if i:
                a, b = fake.videos["vidA"], fake.videos["vidB"]
                a["viewCount"] += 100 * i
                a["likeCount"] += 3
                b["viewCount"] += 10
                b["likeCount"] -= 1 if i == 3 else 0  # a like withdrawn: no event
                sent += [
                    (clock.now_ms, "youtube:vidA", "view", 100 * i),
                    (clock.now_ms, "youtube:vidA", "like", 3),
                    (clock.now_ms, "youtube:vidB", "view", 10),
                ]
            if i == 3:  # a restart between polls resumes from the checkpoint
                service.writer.close()
                service = connector(base_url, kafka_settings, tmp_path / "connect", clock)
            service.poll_once()
        service.writer.close()

    env = ingest_env(kafka_settings, tmp_path, f"{kafka_settings.events_topic}.ingest", 0.5)
    ingest = IngestProcess(env, tmp_path / "ingest.log").start()
    try:
        caught_up(kafka_settings, tmp_path / "checkpoints", [ingest], timeout_s=90)
    finally:
        ingest.kill()
    assert published_dead_letters(kafka_settings) == []
    features = published_features(kafka_settings)
    truth = pl.DataFrame(sent, schema=["ts", "product_id", "action", "count"], orient="row")
    assert features["product_id"].unique().sort().to_list() == ["youtube:vidA", "youtube:vidB"]
    for row in features.iter_rows(named=True):
        before = truth.filter(
            (pl.col("product_id") == row["product_id"]) & (pl.col("ts") < row["tick_ms"])
        )
        in_5m = before.filter(pl.col("ts") >= row["tick_ms"] - 300_000)
        for action in ("view", "like", "comment"):
            assert row[f"{action}_24h"] == before.filter(pl.col("action") == action)["count"].sum()
            assert row[f"{action}_5m"] == in_5m.filter(pl.col("action") == action)["count"].sum()
        assert row["platforms"] == ["youtube"]
    # The watermark (latest event less 10 minutes of allowed lateness) closed every tick
    # up to the start of the third-last poll's bucket.
    last = features.filter(pl.col("product_id") == "youtube:vidA")["tick_ms"].max()
    assert last == T0_MS - 30_000 + (POLLS - 3) * STEP_MS
    names = dict(features.select("product_id", "product_name").unique().iter_rows())
    assert names == {"youtube:vidA": "Sambal roa", "youtube:vidB": "Keripik"}
