"""The scoring service: features in, scores out, offsets committed after the scores are acked.

Loop: poll a batch -> (swap in a newly promoted model, between batches) -> score ->
produce -> flush -> commit. A model swap happens only between batches, after the
previous batch's scores are flushed and its offsets committed, so every feature row is
scored exactly once and every score names the version that produced it.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from services.model.baseline import GrowthRatioScorer
from services.model.registry import load_version, promoted_dir
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
    directory = promoted_dir(settings.model_dir) if settings.model_dir else None
    if directory is None:
        return GrowthRatioScorer()
    return load_version(directory, explain_threshold=settings.explain_threshold)


class ModelWatcher:
    """Notices a new `promoted` pointer (at most every `check_interval_s`) and loads it.

    A version that fails to load is logged and skipped; the current model keeps scoring.
    """

    def __init__(self, settings: ScoreSettings, check_interval_s: float = 1.0) -> None:
        self.settings, self.check_interval_s = settings, check_interval_s
        self.pointer = Path(settings.model_dir) / "promoted" if settings.model_dir else None
        self.seen = self._stamp()
        self.next_check = time.monotonic() + check_interval_s

    def _stamp(self) -> tuple[int, str] | None:
        if self.pointer is None:
            return None
        try:
            return self.pointer.stat().st_mtime_ns, self.pointer.read_text().strip()
        except FileNotFoundError:
            return None

    def poll(self) -> Scorer | None:
        """A newly promoted scorer, or None when nothing changed."""
        if self.pointer is None or time.monotonic() < self.next_check:
            return None
        self.next_check = time.monotonic() + self.check_interval_s
        stamp = self._stamp()
        if stamp == self.seen or stamp is None:
            return None
        self.seen = stamp
        try:
            return load_scorer(self.settings)
        except Exception:
            log.exception("promoted model %s failed to load; keeping the current one", stamp[1])
            return None


class ScoreService:
    """Consumer group member scoring some partitions of the features topic."""

    def __init__(
        self, kafka: KafkaSettings, settings: ScoreSettings, scorer: Scorer | None = None
    ) -> None:
        self.kafka, self.settings = kafka, settings
        self.watcher = ModelWatcher(settings, settings.reload_check_s)
        self.scorer = scorer or load_scorer(settings)
        self.stop_event = threading.Event()
        self.rows_scored = 0

    def _use(self, scorer: Scorer) -> None:
        self.scorer = scorer
        metrics.set_model_version(scorer.version, getattr(scorer, "created_s", 0.0))
        log.info("scoring with model %s", scorer.version)

    def run(self) -> None:
        metrics.start_metrics_server(self.settings.metrics_port, "score")
        self._use(self.scorer)
        ensure_topics(self.kafka)
        producer = make_producer(self.kafka)
        consumer = make_consumer(self.kafka, self.settings.group, self.kafka.features_topic)
        try:
            while not self.stop_event.is_set():
                if (newer := self.watcher.poll()) is not None:
                    self._use(newer)
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
                    metrics.set_consumer_lag(consumer, tp, messages[-1].offset + 1)
                if polled:
                    producer.flush()
                    consumer.commit()
        finally:
            consumer.close(autocommit=False)
            producer.close()
