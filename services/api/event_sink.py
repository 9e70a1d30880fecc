"""The API's second Kafka edge: produce accepted events to `pantau.events`."""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import Protocol

from kafka import KafkaProducer
from kafka.errors import KafkaError

from shared.kafka import close_producer, make_producer
from shared.logs import log_event
from shared.settings import KafkaSettings

log = logging.getLogger(__name__)


class SinkUnavailable(RuntimeError):
    """The events could not be made durable; the client should retry (503)."""


class EventSink(Protocol):
    def publish(self, messages: list[tuple[bytes, bytes]]) -> None:
        """Make every (key, value) durable before returning, or raise SinkUnavailable."""

    def reachable(self) -> bool: ...

    def close(self) -> None: ...


class KafkaEventSink:
    """Produces with acks=all and waits for every ack, so a 202 means the events are in Kafka.

    The producer is created on first use: an API whose broker is briefly down still
    starts and serves reads, and answers event posts with 503 until the broker is back.
    """

    # After a failed connection, callers get the failure at once for this long instead of
    # each waiting out a new bootstrap timeout (readiness probes poll often).
    RETRY_CONNECT_AFTER_S = 5.0

    def __init__(self, kafka: KafkaSettings, timeout_s: float) -> None:
        self.kafka, self.timeout_s = kafka, timeout_s
        self._producer: KafkaProducer | None = None
        self._failed_at = -math.inf
        self._lock = threading.Lock()

    def _get(self) -> KafkaProducer:
        with self._lock:
            if self._producer is None:
                if time.monotonic() - self._failed_at < self.RETRY_CONNECT_AFTER_S:
                    raise SinkUnavailable("Kafka unreachable (recent connection failed)")
                timeout_ms = int(self.timeout_s * 1000)
                try:
                    self._producer = make_producer(
                        self.kafka, api_version_auto_timeout_ms=timeout_ms, max_block_ms=timeout_ms
                    )
                except KafkaError as exc:
                    self._failed_at = time.monotonic()
                    raise SinkUnavailable(f"Kafka unreachable: {type(exc).__name__}") from exc
            return self._producer

    def publish(self, messages: list[tuple[bytes, bytes]]) -> None:
        producer = self._get()
        try:
            futures = [
                producer.send(self.kafka.events_topic, key=key, value=value)
                for key, value in messages
            ]
            producer.flush(timeout=self.timeout_s)
            for future in futures:
                future.get(timeout=self.timeout_s)
        except KafkaError as exc:
            log_event(log, "event produce failed", level=logging.WARNING, error=type(exc).__name__)
            raise SinkUnavailable(f"Kafka did not acknowledge the events: {exc}") from exc

    def reachable(self) -> bool:
        try:
            return bool(self._get().bootstrap_connected())
        except SinkUnavailable:
            return False

    def close(self) -> None:
        with self._lock:
            if self._producer is not None:
                close_producer(self._producer)
                self._producer = None
