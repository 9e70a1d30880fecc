"""Events produced to the real broker come out of the running API as ranked trends."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import orjson
import pytest
from kafka import KafkaConsumer

from services.api.app import create_app
from services.ingest.service import IngestService
from services.model.baseline import GrowthRatioScorer
from services.model.service import ScoreService
from shared.kafka import ensure_topics, make_producer
from shared.settings import ApiSettings, IngestSettings, KafkaSettings, ScoreSettings

pytestmark = pytest.mark.kafka

HOUR_MS = 3_600_000
START_MS = 1_772_409_600_000  # 2026-03-02T00:00:00Z
HOURS = 30


def hourly_rate(product: str, hour: int) -> int:
    """Views per hour: flat for most, rising over the last 6 hours for two products."""
    recent = hour >= HOURS - 6
    return {"rising": 400 if recent else 20, "mild": 60 if recent else 20}.get(product, 20)


def engagement_events() -> list[bytes]:
    products = ["rising", "mild", "flat-a", "flat-b", "flat-c"]
    events = []
    for hour in range(HOURS):
        for step in range(12):  # one pre-aggregated event per product every 5 minutes
            ts = START_MS + hour * HOUR_MS + step * 300_000
            for product in products:
                events.append(
                    orjson.dumps(
                        {
                            "event_id": f"{product}-{hour}-{step}",
                            "ts": ts,
                            "platform": "tiktok",
                            "product_id": product,
                            "action": "view",
                            "count": max(1, hourly_rate(product, hour) // 12),
                            "category": "makanan",
                            "region": "ID-JT",
                        }
                    )
                )
    return events


BAD_LINES = [
    b"{not json",
    b'{"event_id": "x1", "platform": "tiktok", "product_id": "rising", "action": "view"}',
    b'{"event_id": "x2", "ts": "yesterday", "platform": "tiktok", "product_id": "r", '
    b'"action": "view"}',
    b'{"event_id": "x3", "ts": 1772409600000, "platform": "myspace", "product_id": "r", '
    b'"action": "view"}',
]


@contextmanager
def running(service: IngestService | ScoreService) -> Iterator[None]:
    thread = threading.Thread(target=service.run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        service.stop_event.set()
        thread.join(timeout=30)


def produce(kafka: KafkaSettings, lines: list[bytes]) -> None:
    producer = make_producer(kafka)
    for line in lines:
        key = orjson.loads(line).get("product_id", "x").encode() if line.startswith(b'{"') else b"x"
        producer.send(kafka.events_topic, key=key, value=line)
    producer.flush()
    producer.close()


def dlq_messages(kafka: KafkaSettings, expected: int, timeout_s: float = 30) -> list[dict]:
    consumer = KafkaConsumer(
        kafka.dlq_topic,
        bootstrap_servers=kafka.bootstrap,
        auto_offset_reset="earliest",
        consumer_timeout_ms=1000,
    )
    found: list[dict] = []
    deadline = time.monotonic() + timeout_s
    while len(found) < expected and time.monotonic() < deadline:
        found += [orjson.loads(m.value) for m in consumer]
    consumer.close()
    return found


def test_events_through_kafka_rank_the_fastest_riser_first(
    kafka_settings: KafkaSettings, tmp_path: Path, serve
) -> None:
    ensure_topics(kafka_settings)
    good = engagement_events()
    # Bad lines go in early, between good ones: the loop must carry on past them.
    produce(kafka_settings, good[:100] + BAD_LINES + good[100:])
    # Groups of their own: no stale member of another test's group delays the assignment.
    group = kafka_settings.events_topic
    ingest = IngestService(
        kafka_settings,
        IngestSettings(
            group=f"{group}.ingest",
            checkpoint_dir=tmp_path / "ckpt",
            feature_log_dir=tmp_path / "features",
            checkpoint_interval_s=1.0,
            metrics_port=0,
        ),
    )
    # The growth-ratio scorer ranks from the first hour; the services' fallback without a
    # model waits for two days of history (tests/model/test_cold_start.py).
    scorer = ScoreService(
        kafka_settings,
        ScoreSettings(group=f"{group}.model", metrics_port=0),
        GrowthRatioScorer(),
    )
    api = create_app(
        ApiSettings(
            group=f"{group}.api",
            database_url=f"sqlite:///{tmp_path}/api.db",
            require_api_keys=False,
        ),
        kafka_settings,
    )
    with running(ingest), running(scorer), serve(api) as server:
        deadline = time.monotonic() + 90
        order: list[str] = []
        while time.monotonic() < deadline:
            body = httpx.get(f"{server.url}/v1/trends", params={"limit": 10}).json()
            order = [item["product_id"] for item in body["items"]]
            newest = max((item["tick_ms"] for item in body["items"]), default=0)
            if len(order) == 5 and newest >= START_MS + (HOURS - 1) * HOUR_MS:
                break
            time.sleep(0.5)
        assert order[:2] == ["rising", "mild"], order
        assert set(order[2:]) == {"flat-a", "flat-b", "flat-c"}
        filtered = httpx.get(f"{server.url}/v1/trends", params={"region": "ID-JK"}).json()
        assert filtered["items"] == []
        assert httpx.get(f"{server.url}/healthz").json() == {"status": "ok"}
        exposition = httpx.get(f"{server.url}/metrics").text
        assert 'pantau_http_requests_total{method="GET",route="/v1/trends",status="200"}' in (
            exposition
        )

    dead = dlq_messages(kafka_settings, expected=len(BAD_LINES))
    assert sorted(d["reason"] for d in dead) == sorted(
        ["malformed_json", "missing_field", "wrong_type", "invalid_value"]
    )
    assert all(d["topic"] == kafka_settings.events_topic and "raw" in d for d in dead)
    assert ingest.counts["accepted"] == len(good)
    assert ingest.counts["invalid"] == len(BAD_LINES)
