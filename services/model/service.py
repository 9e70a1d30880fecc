"""The scoring service: features in, scores out, offsets committed after the scores are acked.

`ScoreStep` plugs into the shared consumer runtime (shared.runtime): decode a batch
(prepare) → score → produce (process) → swap in a newly promoted model between batches
(idle) → flush → commit. Every score names the version that produced it. A feature
message that cannot be decoded goes to the DLQ with its position; it never stops scoring.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from services.model.registry import load_version, promoted_dir, unpromoted_scorer
from services.model.scorer import Scorer
from shared import metrics
from shared.features import FEATURE_SCHEMA
from shared.kafka import (
    DecodedFrames,
    decode_frames,
    ensure_topics,
    frame_to_values,
    make_consumer,
    make_producer,
)
from shared.logs import log_event
from shared.runtime import Batch, ConsumerRuntime, LoopSettings, Output
from shared.schema import MALFORMED_FRAME
from shared.settings import KafkaSettings, ScoreSettings

log = logging.getLogger(__name__)


def load_scorer(settings: ScoreSettings, compile: bool = True) -> Scorer:
    """The promoted model; the shipped default when none is promoted yet (the uncalibrated
    cold start when that fails to load). `compile`: compile the model in the background,
    for a scorer kept running."""
    directory = promoted_dir(settings.model_dir) if settings.model_dir else None
    explain = settings.explain_threshold
    if directory is None:
        return unpromoted_scorer(explain_threshold=explain, compile=compile)
    return load_version(directory, explain_threshold=explain, compile=compile)


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
            log_event(
                log,
                "promoted model %s failed to load; keeping the current one",
                stamp[1],
                level=logging.ERROR,
                exc_info=True,
                model_version=stamp[1],
            )
            return None


class ScoreStep:
    """Scores each batch of feature rows with the current model; swaps models between batches."""

    def __init__(self, kafka: KafkaSettings, settings: ScoreSettings, scorer: Scorer) -> None:
        self.kafka, self.settings = kafka, settings
        self.watcher = ModelWatcher(settings, settings.reload_check_s)
        self.scorer = scorer
        self.rows_scored = 0
        self.use(scorer)

    def use(self, scorer: Scorer) -> None:
        self.scorer = scorer
        metrics.set_model_version(scorer.version, getattr(scorer, "created_s", 0.0))
        log_event(log, "scoring with model %s", scorer.version, model_version=scorer.version)

    def start(self, partition: int) -> None:
        return None  # the group's committed offset

    def prepare(self, partition: int, values: list[bytes]) -> DecodedFrames:
        return decode_frames(values, FEATURE_SCHEMA)

    def process(self, batch: Batch[DecodedFrames], output: Output | None) -> None:
        assert output is not None
        partition, features = batch.partition, batch.prepared.frame
        for envelope in batch.prepared.dead_letters(
            self.kafka.features_topic, partition, batch.offsets
        ):
            output.send(self.kafka.dlq_topic, envelope, partition)
            metrics.DLQ_MESSAGES.labels(reason=MALFORMED_FRAME).inc()
        if features.height == 0:
            return
        with metrics.SCORE_BATCH_DURATION.time():
            scores = self.scorer.score(features)
        self.rows_scored += scores.height
        metrics.SCORED_ROWS.inc(scores.height)
        for p in scores["probability"].to_list():
            metrics.SCORE_PROBABILITY.observe(p)
        for value in frame_to_values(scores):
            output.send(self.kafka.scores_topic, value, partition)
        log_event(
            log,
            "batch scored",
            partition=partition,
            first_offset=batch.offsets[0],
            last_offset=batch.offsets[-1],
            rows=scores.height,
            tick_min_ms=scores["tick_ms"].min(),
            tick_max_ms=scores["tick_ms"].max(),
            model_version=self.scorer.version,
        )

    def idle(self, output: Output | None) -> None:
        if (newer := self.watcher.poll()) is not None:
            self.use(newer)

    def save(self, partitions: list[int], positions: dict[int, int]) -> None:
        """Nothing to save: scoring keeps no state, the committed offsets say it all."""

    def forget(self, partitions: list[int]) -> None:
        """No per-partition state."""


class ScoreService:
    """A consumer group member scoring some partitions of the features topic."""

    def __init__(
        self, kafka: KafkaSettings, settings: ScoreSettings, scorer: Scorer | None = None
    ) -> None:
        self.kafka, self.settings = kafka, settings
        self.step = ScoreStep(kafka, settings, scorer or load_scorer(settings))
        self.stop_event = threading.Event()

    @property
    def rows_scored(self) -> int:
        return self.step.rows_scored

    def run(self) -> None:
        metrics.start_metrics_server(self.settings.metrics_port, "score")
        ensure_topics(self.kafka)
        loop = LoopSettings(
            group=self.settings.group, topic=self.kafka.features_topic, service="score"
        )
        consumer = make_consumer(self.kafka, self.settings.group)
        producer = make_producer(self.kafka)
        ConsumerRuntime(loop, self.step, consumer, producer, self.stop_event).run()
