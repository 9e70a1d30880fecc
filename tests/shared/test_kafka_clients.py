"""The services' Kafka clients (real broker): producers are idempotent, and every client
waits for the broker's version probe as long as the settings say, not kafka-python's 2 s."""

from __future__ import annotations

import time

import pytest

from shared.kafka import make_consumer, make_producer
from shared.settings import KafkaSettings

pytestmark = pytest.mark.kafka


def test_producers_are_idempotent_so_a_retried_batch_keeps_its_place(
    kafka_settings: KafkaSettings,
) -> None:
    producer = make_producer(kafka_settings, max_block_ms=30_000)
    try:
        assert producer.config["enable_idempotence"]
        # kafka-python keeps order under retries only with one request in flight.
        assert producer.config["max_in_flight_requests_per_connection"] == 1
        assert producer.config["acks"] == -1
        for n in range(20):
            producer.send(kafka_settings.events_topic, value=b"%d" % n, partition=0)
        producer.flush(timeout=30)
        # The broker gave the producer an id: its batches carry sequence numbers.
        assert producer._transaction_manager is not None
        assert producer._transaction_manager.producer_id_and_epoch.producer_id >= 0
    finally:
        producer.close()


def test_a_producer_closed_at_once_closes_at_once(kafka_settings: KafkaSettings) -> None:
    """kafka-python's idempotent sender lost a close's wake-up while it fetched its id: a
    producer closed straight after it was made blocked until a metadata refresh (5 min)."""
    for _ in range(3):
        producer = make_producer(kafka_settings)
        started = time.monotonic()
        producer.close(timeout=10)  # a lost wake-up would end in the 10 s forced close
        assert time.monotonic() - started < 5


def test_clients_wait_for_the_version_probe_as_long_as_the_settings_say(
    kafka_settings: KafkaSettings,
) -> None:
    patient = kafka_settings.model_copy(update={"api_version_timeout_ms": 12_345})
    producer = make_producer(patient)
    consumer = make_consumer(patient, f"{patient.events_topic}.probe")
    try:
        assert producer.config["api_version_auto_timeout_ms"] == 12_345
        assert consumer.config["api_version_auto_timeout_ms"] == 12_345
    finally:
        producer.close()
        consumer.close()
    # A caller's own bound (the API's event sink passes its request timeout) still wins.
    hurried = make_producer(patient, api_version_auto_timeout_ms=4_000)
    assert hurried.config["api_version_auto_timeout_ms"] == 4_000
    hurried.close()
