"""The demo's two buses: in-process (LocalPipeline into the API's intake) or real Kafka.

Both run the same cores. The Kafka bus produces the simulated lines keyed by product,
and runs the ingest and score services in threads of this process; the API consumes
the scores from the broker exactly as `pantau api` does.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import orjson
import polars as pl

from services.api.intake import ScoreIntake
from services.ingest.service import IngestService
from services.model.scorer import Scorer
from services.model.service import ScoreService
from services.pipeline import LocalPipeline
from shared.kafka import close_producer, ensure_topics, make_producer
from shared.logs import log_event
from shared.settings import IngestSettings, KafkaSettings, ScoreSettings

log = logging.getLogger(__name__)


class LocalBus:
    """Events through the in-process pipeline; scores straight into the API's intake."""

    name = "in-process"

    def __init__(self, intake: ScoreIntake, scorer: Scorer) -> None:
        def sink(scores: pl.DataFrame) -> None:
            intake.apply(scores)

        self.pipeline = LocalPipeline(scorer, sink)
        self._lock = threading.Lock()

    def publish(self, lines: list[bytes]) -> None:
        with self._lock:
            self.pipeline.submit(lines)

    def close(self) -> None:
        pass


class KafkaBus:
    """Events produced to the broker; ingest and scoring run as they do in production."""

    def __init__(self, kafka: KafkaSettings, scorer: Scorer, workdir: Path, run: str) -> None:
        self.name = f"Kafka {kafka.bootstrap} ({kafka.events_topic})"
        self.kafka = kafka
        ensure_topics(kafka)
        self.producer = make_producer(kafka)
        self.services: list[IngestService | ScoreService] = [
            IngestService(
                kafka,
                IngestSettings(
                    group=f"{run}-ingest",
                    checkpoint_dir=workdir / "checkpoints",
                    feature_log_dir=None,
                    checkpoint_interval_s=5.0,
                    metrics_port=0,
                ),
            ),
            ScoreService(kafka, ScoreSettings(group=f"{run}-score", metrics_port=0), scorer),
        ]
        self.threads = [
            threading.Thread(target=_run, args=(s,), daemon=True) for s in self.services
        ]
        for thread in self.threads:
            thread.start()

    def publish(self, lines: list[bytes]) -> None:
        for line in lines:
            self.producer.send(self.kafka.events_topic, key=_key(line), value=line)
        self.producer.flush()

    def close(self) -> None:
        close_producer(self.producer)
        for service in self.services:
            service.stop_event.set()
        for thread in self.threads:
            thread.join(timeout=20)


def _run(service: IngestService | ScoreService) -> None:
    """Run a service; an error while it stops (the demo is exiting) is one log line."""
    try:
        service.run()
    except Exception as exc:
        if not service.stop_event.is_set():
            raise
        log_event(
            log,
            "%s stopped with %s: %s",
            type(service).__name__,
            type(exc).__name__,
            exc,
            level=logging.WARNING,
        )


def _key(line: bytes) -> bytes:
    """The product id, as a platform connector keys its messages (malformed lines: any key)."""
    try:
        return str(orjson.loads(line)["product_id"]).encode()
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return b"-"
