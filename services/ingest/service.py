"""The ingest service: Kafka in, features and dead letters out. A thin loop over the core.

Per poll, for each partition: decode → validate (on a worker thread, one batch ahead:
`DecodeAhead`) → window → features (PartitionProcessor) → produce features and DLQ
envelopes → buffer features in the feature log (a file per partition and hour). Every
`checkpoint_interval_s`: flush the producer and the feature log, write each partition's
state with its next offset (checkpoint), then commit those offsets to Kafka. A worker
killed at any instant restarts from the last checkpoint and replays the same events into
the same state.
A feature row or dead letter the broker refused stops the worker before the checkpoint
that would have skipped it, so the restart produces it again.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import orjson
from kafka import ConsumerRebalanceListener, TopicPartition
from kafka.structs import OffsetAndMetadata

from services.ingest import checkpoint
from services.ingest.config import WindowConfig
from services.ingest.decode_ahead import DecodeAhead, DecodedMessages
from services.ingest.feature_log import FeatureLog
from services.ingest.processor import IngestResult, PartitionProcessor
from shared import metrics
from shared.kafka import ensure_topics, frame_to_values, make_consumer, make_producer
from shared.schema import Lines
from shared.settings import IngestSettings, KafkaSettings

log = logging.getLogger(__name__)


def window_config(settings: IngestSettings) -> WindowConfig:
    return WindowConfig(
        tick_ms=settings.tick_ms,
        allowed_lateness_ms=settings.allowed_lateness_ms,
        dedup_horizon_ms=settings.dedup_horizon_ms,
        retention_ms=settings.retention_ms,
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


class IngestService:
    """Consumer group member owning some partitions of the events topic."""

    def __init__(self, kafka: KafkaSettings, settings: IngestSettings) -> None:
        self.kafka, self.settings = kafka, settings
        self.config = window_config(settings)
        self.processors: dict[int, PartitionProcessor] = {}
        self.next_offsets: dict[int, int] = {}
        self.last_message_s: dict[int, float] = {}
        self.stop_event = threading.Event()
        self.send_errors: list[BaseException] = []
        self.counts = {"accepted": 0, "invalid": 0, "late": 0, "duplicate": 0}
        log_dir = settings.feature_log_dir
        self.feature_log = None if log_dir is None else FeatureLog(log_dir)

    # -- partition lifecycle -------------------------------------------------------
    def _assign(self, partitions: set[TopicPartition]) -> None:
        for tp in partitions:
            saved = checkpoint.load(self.settings.checkpoint_dir, tp.topic, tp.partition)
            if saved is None:
                self.processors[tp.partition] = PartitionProcessor(tp.partition, self.config)
                self.consumer.seek_to_beginning(tp)
                self.next_offsets[tp.partition] = 0
            else:
                self.processors[tp.partition] = saved.processor
                self.consumer.seek(tp, saved.next_offset)
                self.next_offsets[tp.partition] = saved.next_offset
            if self.feature_log is not None:
                self.feature_log.resume(tp.partition, self.processors[tp.partition].last_tick_ms)
            self.last_message_s[tp.partition] = time.monotonic()
            log.info(
                "assigned partition %s at offset %s", tp.partition, self.next_offsets[tp.partition]
            )

    def _revoke(self, partitions: set[TopicPartition]) -> None:
        """Checkpoint the partitions being handed over, then forget them.

        The checkpoint is what the next owner resumes from; it commits its own offsets, so
        no blocking Kafka commit happens inside the rebalance.
        """
        for batch in self.ahead.drain():
            self._process(batch)
        owned = [tp.partition for tp in partitions if tp.partition in self.processors]
        self._save_checkpoints(owned)
        self._drop(owned)

    def _drop(self, partitions: list[int]) -> None:
        """Forget partitions without a checkpoint (lost to the group, or state in doubt)."""
        for partition in partitions:
            if self.feature_log is not None:
                self.feature_log.forget(partition)
            self.processors.pop(partition, None)
            self.next_offsets.pop(partition, None)
            self.last_message_s.pop(partition, None)

    # -- the loop ------------------------------------------------------------------
    def run(self) -> None:
        if threading.current_thread() is threading.main_thread():
            # SIGTERM (docker stop, systemd) ends the loop: a last checkpoint and commit,
            # then leaving the group hands the partitions over at once.
            signal.signal(signal.SIGTERM, lambda *_: self.stop_event.set())
        metrics.start_metrics_server(self.settings.metrics_port, "ingest")
        ensure_topics(self.kafka)
        self.producer = make_producer(self.kafka)
        decoder = ThreadPoolExecutor(1, thread_name_prefix="pantau-decode")
        self.ahead = DecodeAhead(decoder)
        self.consumer = make_consumer(
            self.kafka, self.settings.group, max_poll_records=self.settings.max_poll_records
        )
        service = self

        class Listener(ConsumerRebalanceListener):
            def on_partitions_revoked(self, revoked):  # type: ignore[no-untyped-def]
                service._revoke(set(revoked))

            def on_partitions_assigned(self, assigned):  # type: ignore[no-untyped-def]
                service._assign(set(assigned))

            def on_partitions_lost(self, lost):  # type: ignore[no-untyped-def]
                # Already someone else's: a checkpoint now could overwrite the new owner's.
                service.ahead.discard({tp.partition for tp in lost})
                service._drop([tp.partition for tp in lost])

        self._await_partition_metadata()
        self.consumer.subscribe([self.kafka.events_topic], listener=Listener())
        last_checkpoint = time.monotonic()
        try:
            while not self.stop_event.is_set():
                polled = self.consumer.poll(timeout_ms=200)
                for tp in polled:
                    if tp.partition in self.processors:
                        self.last_message_s[tp.partition] = time.monotonic()
                batches = ((tp.partition, messages) for tp, messages in polled.items())
                for batch in self.ahead.push(batches):
                    self._process(batch)
                self._advance_idle()
                self._observe()
                if time.monotonic() - last_checkpoint >= self.settings.checkpoint_interval_s:
                    self._checkpoint(list(self.processors))
                    last_checkpoint = time.monotonic()
            self._checkpoint(list(self.processors))
        except BaseException:
            # State may be half-updated: closing must not checkpoint it. The restart
            # resumes from the last good checkpoint.
            self._drop(list(self.processors))
            raise
        finally:
            decoder.shutdown(cancel_futures=True)
            self.consumer.close(autocommit=False)
            self.producer.close()

    def _await_partition_metadata(self, timeout_s: float = 60.0) -> None:
        """Join the group only once this consumer knows the topic's partitions.

        A group leader without them assigns nothing ("No partition metadata") and only
        rebalances after its next metadata refresh, minutes later: a fresh worker on a
        new topic would sit idle that long.
        """
        deadline = time.monotonic() + timeout_s
        while not self.consumer.partitions_for_topic(self.kafka.events_topic):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no partitions known for {self.kafka.events_topic}")
            time.sleep(0.2)

    def _process(self, batch: DecodedMessages) -> None:
        started = time.perf_counter()
        partition, messages = batch.partition, batch.messages
        processor = self.processors.get(partition)
        if processor is None:  # lost in a rebalance during this poll: its owner reads it
            return
        result = processor.submit_decoded(batch.decoded)
        offsets = [m.offset for m in messages]
        topic = self.kafka.events_topic
        for envelope in dlq_envelopes(
            result, batch.lines, batch.message_index, offsets, topic, partition
        ):
            self._send(self.kafka.dlq_topic, envelope, partition)
        # Ties this batch's log line to the features it emitted and to its DLQ envelopes.
        batch_id = f"{self.kafka.events_topic}/{partition}/{offsets[0]}-{offsets[-1]}"
        self._publish(partition, result.features, batch_id)
        self.next_offsets[partition] = offsets[-1] + 1
        by_reason = dict(result.rejected.group_by("reason").len().iter_rows())
        late = by_reason.get("late", 0)
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
        metrics.INGEST_BATCH_DURATION.observe(batch.decode_s + time.perf_counter() - started)
        log.info(
            "batch ingested",
            extra={
                "batch_id": batch_id,
                "partition": partition,
                "first_offset": offsets[0],
                "last_offset": offsets[-1],
                "messages": len(messages),
                **outcomes,
            },
        )

    def _observe(self) -> None:
        """Gauges: watermarks, freshness, lag, state size."""
        now_s = time.time()
        watermarks = []
        for partition, processor in self.processors.items():
            if processor.watermark_ms > 0:
                metrics.INGEST_WATERMARK.labels(partition=str(partition)).set(
                    processor.watermark_ms / 1000
                )
                watermarks.append(processor.watermark_ms / 1000)
            tp = TopicPartition(self.kafka.events_topic, partition)
            end = self.consumer.highwater(tp)
            if end is not None:
                metrics.CONSUMER_LAG.labels(topic=tp.topic, partition=str(partition)).set(
                    max(0, end - self.next_offsets.get(partition, 0))
                )
        if watermarks:
            metrics.INGEST_FRESHNESS.set(now_s - min(watermarks))
        metrics.INGEST_ACTIVE_PRODUCTS.set(
            sum(p.catalog.active_products for p in self.processors.values())
        )
        metrics.INGEST_STATE_BYTES.set(sum(p.state_bytes for p in self.processors.values()))

    def _publish(
        self,
        partition: int,
        features: list,  # type: ignore[type-arg]
        batch_id: str | None = None,
    ) -> None:
        for rows in features:
            if rows.height == 0:
                continue
            metrics.INGEST_FEATURES_EMITTED.inc(rows.height)
            log.info(
                "features emitted",
                extra={
                    "batch_id": batch_id,
                    "partition": partition,
                    "tick_ms": rows["tick_ms"][0],
                    "rows": rows.height,
                },
            )
            for value in frame_to_values(rows):
                self._send(self.kafka.features_topic, value, partition)
        if self.feature_log is not None:
            self.feature_log.add(partition, features)

    def _send(self, topic: str, value: bytes, partition: int) -> None:
        # flush() does not raise for failed sends: the errback records them for _checkpoint.
        future = self.producer.send(topic, value=value, partition=partition)
        future.add_errback(self.send_errors.append)

    def _advance_idle(self) -> None:
        """An idle partition's watermark follows the wall clock, so alerts never stall."""
        now_s = time.monotonic()
        now_ms = int(time.time() * 1000)
        for partition, processor in self.processors.items():
            idle = now_s - self.last_message_s.get(partition, now_s) >= self.settings.idle_timeout_s
            # Only a live stream follows the clock: a replay of old events must not jump ahead.
            live = 0 <= now_ms - processor.max_ts_ms <= self.config.retention_ms
            if idle and live:
                target = now_ms - self.config.allowed_lateness_ms
                self._publish(partition, processor.advance_to(target))

    def _checkpoint(self, partitions: list[int]) -> None:
        for batch in self.ahead.drain():
            self._process(batch)
        if not partitions:
            return
        started = time.monotonic()
        self._save_checkpoints(partitions)
        self.consumer.commit(
            {
                TopicPartition(self.kafka.events_topic, p): OffsetAndMetadata(
                    self.next_offsets[p], "", -1
                )
                for p in partitions
            }
        )
        metrics.INGEST_CHECKPOINT_DURATION.observe(time.monotonic() - started)
        metrics.INGEST_CHECKPOINT_TIMESTAMP.set(time.time())

    def _save_checkpoints(self, partitions: list[int]) -> None:
        """Make every output so far durable (the feature log's open hours included), then each
        partition's state with its offset."""
        if not partitions:
            return
        self.producer.flush()
        if self.send_errors:
            raise RuntimeError(
                f"{len(self.send_errors)} output messages were not produced "
                f"(first: {self.send_errors[0]!r}); stopping before the checkpoint"
            )
        for partition in partitions:
            if self.feature_log is not None:
                self.feature_log.flush(partition)
            checkpoint.save(
                self.settings.checkpoint_dir,
                self.kafka.events_topic,
                checkpoint.Checkpoint(self.processors[partition], self.next_offsets[partition]),
            )
