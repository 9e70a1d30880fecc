"""The services' consumer takes a full fetch in one response (real broker)."""

from __future__ import annotations

import logging
import time

import pytest

from shared.kafka import make_consumer, make_producer
from shared.settings import KafkaSettings

pytestmark = pytest.mark.kafka


def test_a_fetch_larger_than_a_megabyte_arrives_without_a_dropped_connection(
    kafka_settings: KafkaSettings, caplog: pytest.LogCaptureFixture
) -> None:
    topic = kafka_settings.events_topic
    producer = make_producer(kafka_settings, max_request_size=2**21)
    for _ in range(40):  # 8 MB in one partition: a whole fetch is one 8 MB response
        producer.send(topic, b"x" * 200_000, partition=0)
    producer.flush()
    producer.close()
    caplog.set_level(logging.WARNING, logger="kafka")
    consumer = make_consumer(kafka_settings, f"{topic}.reader", topic)
    received, deadline = 0, time.monotonic() + 30
    while received < 40 and time.monotonic() < deadline:
        received += sum(len(m) for m in consumer.poll(timeout_ms=500).values())
    consumer.close()
    assert received == 40
    assert not [r for r in caplog.records if "Invalid frame length" in r.getMessage()]
