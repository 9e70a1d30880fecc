"""The ingest service: events in; features, dead letters and the feature log out.

`IngestStep` plugs the ingest core into the shared consumer runtime (shared.runtime):
decode → validate (prepare, on the worker thread) → window → features (PartitionProcessor)
→ produce features and DLQ envelopes → buffer features in the feature log, a file per
partition and hour (process) → every `checkpoint_interval_s`: flush the producer, write
the feature log's open hours and each partition's state with its next offset (save),
then commit those offsets. A worker killed at any instant restarts from
the last checkpoint and replays the same events into the same state.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import orjson
import polars as pl

from services.ingest import checkpoint
from services.ingest.config import WindowConfig
from services.ingest.feature_log import FeatureLog
from services.ingest.processor import IngestResult, PartitionProcessor
from shared import metrics
from shared.clock import wall_clock_ms
from shared.kafka import ensure_topics, frame_to_values, make_consumer, make_producer
from shared.logs import log_event
from shared.runtime import Batch, ConsumerRuntime, LoopSettings, Output
from shared.schema import DecodedBatch, Lines, decode_lines
from shared.settings import IngestSettings, KafkaSettings

log = logging.getLogger(__name__)


def window_config(settings: IngestSettings) -> WindowConfig:
    return WindowConfig(
        tick_ms=settings.tick_ms,
        allowed_lateness_ms=settings.allowed_lateness_ms,
        dedup_horizon_ms=settings.dedup_horizon_ms,
        retention_ms=settings.retention_ms,
        future_margin_ms=settings.future_margin_ms,
    )


def dlq_envelopes(
    result: IngestResult,
    lines: Lines | Sequence[bytes],
    message_index: np.ndarray,
    offsets: list[int],
    topic: str,
    partition: int,
) -> list[bytes]:
    """One JSON envelope per rejected line: reason, detail, source position and the raw line."""
    rejected = result.rejected
    if rejected.height == 0:
        return []
    return [
        orjson.dumps(
            {
                "reason": reason,
                "detail": detail,
                "topic": topic,
                "partition": partition,
                "offset": offsets[message_index[line_no]],
                "raw": lines[line_no].decode("utf-8", "replace")[:65_536],
            }
        )
        for line_no, reason, detail in rejected.iter_rows()
    ]


@dataclass(frozen=True)
class DecodedLines:
    """A batch's message values as lines, each line's message, and the decoded events."""

    lines: Lines
    message_index: np.ndarray
    decoded: DecodedBatch


def decode_values(values: list[bytes]) -> DecodedLines:
    lines, message_index = Lines.of(values)
    return DecodedLines(lines, message_index, decode_lines(lines))


class IngestStep:
    """The ingest core per owned partition, with its checkpoints and outputs."""

    def __init__(self, kafka: KafkaSettings, settings: IngestSettings) -> None:
        self.kafka, self.settings = kafka, settings
        self.config = window_config(settings)
        self.processors: dict[int, PartitionProcessor] = {}
        self.last_message_s: dict[int, float] = {}
        self.counts = {"accepted": 0, "invalid": 0, "late": 0, "duplicate": 0}
        log_dir = settings.feature_log_dir
        self.feature_log = None if log_dir is None else FeatureLog(log_dir)

    def start(self, partition: int) -> int:
        saved = checkpoint.load(
            self.settings.checkpoint_dir, self.kafka.events_topic, partition, self.config
        )
        if saved is None:  # rebuilt from the start of the topic's retention
            self.processors[partition] = PartitionProcessor(partition, self.config)
            offset = 0
        else:
            self.processors[partition] = saved.processor
            offset = saved.next_offset
        if self.feature_log is not None:
            self.feature_log.resume(partition, self.processors[partition].last_tick_ms)
        self.last_message_s[partition] = time.monotonic()
        return offset

    def prepare(self, partition: int, values: list[bytes]) -> DecodedLines:
        return decode_values(values)

    def process(self, batch: Batch[DecodedLines], output: Output | None) -> None:
        assert output is not None
        started = time.perf_counter()
        partition, offsets, prepared = batch.partition, batch.offsets, batch.prepared
        self.last_message_s[partition] = time.monotonic()
        result = self.processors[partition].submit_decoded(prepared.decoded, now_ms=wall_clock_ms())
        topic = self.kafka.events_topic
        for envelope in dlq_envelopes(
            result, prepared.lines, prepared.message_index, offsets, topic, partition
        ):
            output.send(self.kafka.dlq_topic, envelope, partition)
        # Ties this batch's log line to the features it emitted and to its DLQ envelopes.
        batch_id = f"{topic}/{partition}/{offsets[0]}-{offsets[-1]}"
        self._publish(output, partition, result.features, batch_id)
        by_reason = dict(result.rejected.group_by("reason").len().iter_rows())
        late = by_reason.get("late", 0)
        # Every other reject, `future` included, is input to fix at its source: `invalid`.
        outcomes = {
            "accepted": result.accepted,
            "duplicate": result.duplicates,
            "late": late,
            "invalid": result.rejected.height - late,
        }
        for outcome, n in outcomes.items():
            self.counts[outcome] += n
            metrics.INGEST_EVENTS.labels(outcome=outcome).inc(n)
        for reason, n in by_reason.items():
            metrics.DLQ_MESSAGES.labels(reason=reason).inc(n)
        metrics.INGEST_BATCH_DURATION.observe(batch.prepare_s + time.perf_counter() - started)
        log_event(
            log,
            "batch ingested",
            batch_id=batch_id,
            partition=partition,
            first_offset=offsets[0],
            last_offset=offsets[-1],
            messages=len(offsets),
            **outcomes,
        )

    def idle(self, output: Output | None) -> None:
        assert output is not None
        self._advance_idle(output)
        self._observe()

    def save(self, partitions: list[int], positions: dict[int, int]) -> None:
        started = time.monotonic()
        for partition in partitions:
            if self.feature_log is not None:
                self.feature_log.flush(partition)
            checkpoint.save(
                self.settings.checkpoint_dir,
                self.kafka.events_topic,
                checkpoint.Checkpoint(self.processors[partition], positions[partition]),
            )
        metrics.INGEST_CHECKPOINT_DURATION.observe(time.monotonic() - started)
        metrics.INGEST_CHECKPOINT_TIMESTAMP.set(time.time())

    def forget(self, partitions: list[int]) -> None:
        """Drop partitions; a handed-over one was saved first, so its open hour is on disk."""
        for partition in partitions:
            if self.feature_log is not None:
                self.feature_log.forget(partition)
            self.processors.pop(partition, None)
            self.last_message_s.pop(partition, None)

    def _publish(
        self,
        output: Output,
        partition: int,
        features: list[pl.DataFrame],
        batch_id: str | None = None,
    ) -> None:
        for rows in features:
            if rows.height == 0:
                continue
            metrics.INGEST_FEATURES_EMITTED.inc(rows.height)
            log_event(
                log,
                "features emitted",
                batch_id=batch_id,
                partition=partition,
                tick_ms=rows["tick_ms"][0],
                rows=rows.height,
            )
            for value in frame_to_values(rows):
                output.send(self.kafka.features_topic, value, partition)
        if self.feature_log is not None:
            self.feature_log.add(partition, features)

    def _advance_idle(self, output: Output) -> None:
        """An idle partition's ticks follow the wall clock, so alerts never stall.

        They are provisional (`PartitionProcessor.advance_to`): lateness stays with the
        events' own watermark, so what comes after an idle spell is judged as a replay
        judges it, and a tick it reaches fires again with it.
        """
        now_s = time.monotonic()
        now_ms = wall_clock_ms()
        for partition, processor in self.processors.items():
            idle = now_s - self.last_message_s.get(partition, now_s) >= self.settings.idle_timeout_s
            # Only a live stream follows the clock: a replay of old events must not jump ahead.
            live = 0 <= now_ms - processor.max_ts_ms <= self.config.retention_ms
            if idle and live:
                target = now_ms - self.config.allowed_lateness_ms
                self._publish(output, partition, processor.advance_to(target))

    def _observe(self) -> None:
        """Gauges: watermarks, freshness, state size."""
        watermarks = []
        for partition, processor in self.processors.items():
            if processor.watermark_ms > 0:
                metrics.INGEST_WATERMARK.labels(partition=str(partition)).set(
                    processor.watermark_ms / 1000
                )
                watermarks.append(processor.watermark_ms / 1000)
        if watermarks:
            metrics.INGEST_FRESHNESS.set(time.time() - min(watermarks))
        metrics.INGEST_ACTIVE_PRODUCTS.set(
            sum(p.catalog.active_products for p in self.processors.values())
        )
        metrics.INGEST_STATE_BYTES.set(sum(p.state_bytes for p in self.processors.values()))


class IngestService:
    """A consumer group member owning some partitions of the events topic."""

    def __init__(self, kafka: KafkaSettings, settings: IngestSettings) -> None:
        self.kafka, self.settings = kafka, settings
        self.step = IngestStep(kafka, settings)
        self.loop = LoopSettings(
            group=settings.group,
            topic=kafka.events_topic,
            service="ingest",
            commit_interval_s=settings.checkpoint_interval_s,
        )
        self.runtime: ConsumerRuntime[DecodedLines] | None = None
        self.stop_event = threading.Event()

    @property
    def counts(self) -> dict[str, int]:
        return self.step.counts

    def run(self) -> None:
        metrics.start_metrics_server(self.settings.metrics_port, "ingest")
        ensure_topics(self.kafka)
        consumer = make_consumer(
            self.kafka, self.settings.group, max_poll_records=self.settings.max_poll_records
        )
        self.runtime = ConsumerRuntime(
            self.loop, self.step, consumer, make_producer(self.kafka), self.stop_event
        )
        self.runtime.run()
