"""The scoring service: features in, scores out, offsets committed after the scores are acked."""

from __future__ import annotations

import logging
import threading

from services.model.baseline import GrowthRatioScorer
from services.model.scorer import Scorer
from shared import metrics
from shared.features import FEATURE_SCHEMA
from shared.kafka import (
    ensure_topics,
    frame_to_values,
    make_consumer,
    make_producer,
    values_to_frame,
)
from shared.settings import KafkaSettings, ScoreSettings

log = logging.getLogger(__name__)


def load_scorer(settings: ScoreSettings) -> Scorer:
    """The promoted model, or the growth-ratio baseline when none is promoted yet."""
    return GrowthRatioScorer()


class ScoreService:
    """Consumer group member scoring some partitions of the features topic."""

    def __init__(
        self, kafka: KafkaSettings, settings: ScoreSettings, scorer: Scorer | None = None
    ) -> None:
        self.kafka, self.settings = kafka, settings
        self.scorer = scorer or load_scorer(settings)
        self.stop_event = threading.Event()
        self.rows_scored = 0

    def run(self) -> None:
        metrics.start_metrics_server(self.settings.metrics_port)
        metrics.set_model_version(self.scorer.version, getattr(self.scorer, "created_s", 0.0))
        ensure_topics(self.kafka)
        producer = make_producer(self.kafka)
        consumer = make_consumer(self.kafka, self.settings.group, self.kafka.features_topic)
        try:
            while not self.stop_event.is_set():
                polled = consumer.poll(timeout_ms=200)
                for tp, messages in polled.items():
                    features = values_to_frame([m.value for m in messages], FEATURE_SCHEMA)
                    with metrics.SCORE_BATCH_DURATION.time():
                        scores = self.scorer.score(features)
                    self.rows_scored += scores.height
                    metrics.SCORED_ROWS.inc(scores.height)
                    for p in scores["probability"].to_list():
                        metrics.SCORE_PROBABILITY.observe(p)
                    for value in frame_to_values(scores):
                        producer.send(self.kafka.scores_topic, value=value, partition=tp.partition)
                    log.info(
                        "batch scored",
                        extra={
                            "partition": tp.partition,
                            "first_offset": messages[0].offset,
                            "last_offset": messages[-1].offset,
                            "rows": scores.height,
                            "tick_min_ms": scores["tick_ms"].min(),
                            "tick_max_ms": scores["tick_ms"].max(),
                            "model_version": self.scorer.version,
                        },
                    )
                if polled:
                    producer.flush()
                    consumer.commit()
        finally:
            consumer.close(autocommit=False)
            producer.close()
