"""A poison pill on the real broker: events stamped years or a week ahead of the clock go to
the DLQ as `future`; the good events around them all make features and offsets commit.

Before event time was bounded, the 2096 event made the worker fire one tick per 5 minutes
up to 2096 (no batch finished, no commit, memory climbing) and every good event after a
week-ahead one went to the DLQ as late.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import orjson
import polars as pl
import pytest
from _ingest import (
    IngestProcess,
    committed_offsets,
    end_offsets,
    ingest_env,
    logged_outcomes,
    published_dead_letters,
    published_features,
    wait_caught_up,
)

from shared.clock import wall_clock_ms
from shared.kafka import ensure_topics, make_producer
from shared.settings import KafkaSettings

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

MINUTE_MS = 60_000
DAY_MS = 24 * 60 * MINUTE_MS
START_MS = 1_772_409_600_000  # 2026-03-02T00:00:00Z
PRODUCT = "kopi-susu"
GOOD = 120  # one view a minute for two hours
YEAR_2096_MS = 3_976_214_400_000


def event(i: int, ts_ms: int) -> bytes:
    return orjson.dumps(
        {
            "event_id": f"ev-{i}",
            "ts": ts_ms,
            "platform": "tiktok",
            "product_id": PRODUCT,
            "action": "view",
        }
    )


def test_future_events_are_dead_lettered_and_the_stream_goes_on(
    kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    ensure_topics(kafka_settings)
    pills = [event(9000, YEAR_2096_MS), event(9001, wall_clock_ms() + 7 * DAY_MS)]
    messages = [[event(i, START_MS + i * MINUTE_MS)] for i in range(GOOD)]
    messages.insert(30, [pills[0]])  # alone in its message
    messages[70] = [messages[70][0], pills[1], event(8000, START_MS + 69 * MINUTE_MS)]
    producer = make_producer(kafka_settings)
    sent = [
        producer.send(kafka_settings.events_topic, key=PRODUCT.encode(), value=b"\n".join(lines))
        for lines in messages
    ]
    offsets = [future.get(timeout=30) for future in sent]
    producer.close()
    partition = offsets[0].partition

    group = f"{kafka_settings.events_topic}.ingest"
    env = ingest_env(kafka_settings, tmp_path, group, checkpoint_interval_s=0.2)
    proc = IngestProcess(env, tmp_path / "ingest.log").start()
    try:
        started = time.monotonic()
        wait_caught_up(kafka_settings, tmp_path / "checkpoints", [proc], timeout_s=60)
        caught_up_s = time.monotonic() - started
        proc.kill(signal.SIGTERM)
        assert proc.proc is not None and proc.proc.returncode == 0, proc.tail()
    finally:
        proc.kill(signal.SIGKILL)

    dead = published_dead_letters(kafka_settings)
    assert sorted((d["offset"], d["reason"], d["raw"]) for d in dead) == [
        (offsets[30].offset, "future", pills[0].decode()),
        (offsets[70].offset, "future", pills[1].decode()),
    ]
    assert all("future margin" in d["detail"] for d in dead)
    assert logged_outcomes(proc) == {"accepted": GOOD + 1, "invalid": 2, "late": 0, "duplicate": 0}
    ends = end_offsets(kafka_settings, kafka_settings.events_topic)
    assert committed_offsets(kafka_settings, group)[partition] == ends[partition]

    # Every 5-minute window the good events closed holds its five views (the event stamped
    # a minute behind the newest counts in its own window: six there).
    features = published_features(kafka_settings).filter(pl.col("product_id") == PRODUCT)
    ticks = features["tick_ms"].to_list()
    assert ticks == list(range(ticks[0], ticks[-1] + 1, 5 * MINUTE_MS))
    assert len(ticks) >= 20 and ticks[-1] < START_MS + GOOD * MINUTE_MS
    views = dict(zip(ticks, features["events_5m"].to_list(), strict=True))
    sixth = START_MS + 70 * MINUTE_MS  # the tick closing the window [65, 70) minutes
    assert views.pop(sixth) == 6.0
    assert set(views.values()) == {5.0}
    assert caught_up_s < 60
