"""The API's Kafka edge: consume `pantau.scores`, apply each batch, then commit offsets."""

from __future__ import annotations

import logging
import threading

from services.api.intake import ScoreIntake
from shared import metrics
from shared.kafka import make_consumer, values_to_frame
from shared.scores import SCORE_SCHEMA
from shared.settings import ApiSettings, KafkaSettings

log = logging.getLogger(__name__)


class ScoreConsumer:
    """Background thread: poll → store → commit. Offsets move only after the store commits."""

    def __init__(self, kafka: KafkaSettings, api: ApiSettings, intake: ScoreIntake) -> None:
        self.kafka, self.api, self.intake = kafka, api, intake
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="score-consumer", daemon=True)
        self.healthy = False

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=15)

    def _run(self) -> None:
        consumer = make_consumer(self.kafka, self.api.group, self.kafka.scores_topic)
        try:
            while not self._stop.is_set():
                batches = consumer.poll(timeout_ms=500)
                self.healthy = True
                values = [m.value for msgs in batches.values() for m in msgs]
                if values:
                    self.intake.apply(values_to_frame(values, SCORE_SCHEMA))
                    consumer.commit()
                for tp, msgs in batches.items():
                    metrics.set_consumer_lag(consumer, tp, msgs[-1].offset + 1)
        except Exception:
            self.healthy = False
            log.exception("score consumer stopped")
            raise
        finally:
            consumer.close()
