"""The one Kafka consumer loop every service runs: poll → prepare → process → commit.

A service plugs in a `Step`; the runtime owns the consumer, the producer, the rebalance
hooks, commits and the error policy, so no service keeps a loop of its own:

* `prepare` is pure and runs on a worker thread one batch ahead (decoding releases the
  GIL while the main thread processes the previous batch or polls); `process` runs on
  the main thread, batch by batch in offset order;
* every send is checked: `Output.flush` raises if the broker refused one, and it runs
  before any commit that would skip that output;
* a commit is: process the pending batch → flush outputs → `Step.save` (make the state
  the new offsets reflect durable) → commit the offsets;
* transient broker trouble (a retriable error, a timeout, a send that failed, a commit
  refused after a rebalance) rewinds: the step forgets its partitions and each resumes
  from its last durable point after a backoff (counted in `pantau_consumer_retries_total`);
* anything else is fatal: readiness drops, `run` raises, the process exits non-zero and
  its supervisor restarts it.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from kafka import ConsumerRebalanceListener, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import (
    CommitFailedError,
    KafkaConnectionError,
    KafkaError,
    KafkaTimeoutError,
    NoBrokersAvailable,
    NodeNotReadyError,
)
from kafka.structs import OffsetAndMetadata

from shared import metrics
from shared.kafka import CLOSE_TIMEOUT_S, close_producer
from shared.logs import log_event

log = logging.getLogger(__name__)

P = TypeVar("P")
MAX_BACKOFF_S = 30.0


class SendFailed(KafkaError):  # type: ignore[misc]  # KafkaError is Any: kafka-python has no types
    """The broker did not take an output message; the offsets that produced it stay uncommitted."""


def is_transient(exc: BaseException) -> bool:
    """Errors that waiting and resuming from the last durable point can cure.

    A failed send is transient when its cause is (a delivery timeout during an outage),
    not when the broker refuses the message itself (too large for the topic).
    """
    if isinstance(exc, SendFailed):
        return exc.__cause__ is not None and is_transient(exc.__cause__)
    return isinstance(
        exc,
        CommitFailedError
        | KafkaConnectionError
        | KafkaTimeoutError
        | NoBrokersAvailable
        | NodeNotReadyError,
    ) or (isinstance(exc, KafkaError) and bool(getattr(exc, "retriable", False)))


class Output:
    """A producer whose every send is checked: `flush` raises `SendFailed` for any refused."""

    def __init__(self, producer: KafkaProducer) -> None:
        self.producer = producer
        self._failed: list[BaseException] = []

    def send(self, topic: str, value: bytes, partition: int) -> None:
        future = self.producer.send(topic, value=value, partition=partition)
        future.add_errback(self._failed.append)

    def flush(self, timeout_s: float | None = None) -> None:
        self.producer.flush(timeout=timeout_s)
        if self._failed:
            failed, self._failed = self._failed, []
            raise SendFailed(f"{len(failed)} output messages were not produced") from failed[0]

    def discard_failures(self) -> None:
        """Forget failed sends after a rewind: their inputs will be processed again."""
        self._failed.clear()

    def close(self, timeout_s: float = CLOSE_TIMEOUT_S) -> None:
        """Close the producer without waiting out a broker that is gone (`close_producer`)."""
        if not close_producer(self.producer, timeout_s):
            log_event(
                log,
                "closed with output unsent: the broker did not take it within %s s",
                timeout_s,
                level=logging.WARNING,
            )


@dataclass(frozen=True)
class Batch(Generic[P]):
    """One partition's polled messages and what `Step.prepare` made of them."""

    partition: int
    offsets: list[int]
    prepared: P
    prepare_s: float

    @property
    def next_offset(self) -> int:
        return self.offsets[-1] + 1


class Step(Protocol[P]):
    """What a service plugs into the runtime. All methods but `prepare` run on the loop's thread."""

    def start(self, partition: int) -> int | None:
        """Take over `partition`: the offset to resume from, or None for the group's commit."""

    def prepare(self, partition: int, values: list[bytes]) -> P:
        """Pure work on message values (decoding); runs on a worker thread, one batch ahead."""

    def process(self, batch: Batch[P], output: Output | None) -> None:
        """Apply a batch: update state, send outputs."""

    def idle(self, output: Output | None) -> None:
        """After every poll, with or without messages (idle watermarks, gauges)."""

    def save(self, partitions: list[int], positions: dict[int, int]) -> None:
        """Make the state of `partitions` at `positions` durable (outputs are flushed)."""

    def forget(self, partitions: list[int]) -> None:
        """Drop the state of `partitions` (after `save` when handed over, without it when lost)."""


@dataclass(frozen=True)
class LoopSettings:
    """How often the runtime commits and how it polls."""

    group: str
    topic: str
    service: str
    commit_interval_s: float = 0.0  # 0: after every poll that processed something
    poll_timeout_ms: int = 200
    commit_timeout_s: float = 30.0
    # Errors besides the broker's that resuming from the last durable point cures (a store
    # that is briefly unreachable).
    transient_errors: tuple[type[Exception], ...] = ()


class _Ahead(Generic[P]):
    """The batch being prepared on the worker thread while the loop processes or polls."""

    def __init__(self, step: Step[P]) -> None:
        self._step = step
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="pantau-prepare")
        self._pending: tuple[int, list[int], Future[tuple[P, float]]] | None = None

    def push(self, partition: int, messages: list[ConsumerRecord]) -> Iterator[Batch[P]]:
        values = [m.value or b"" for m in messages]
        future = self._pool.submit(self._prepare, partition, values)
        yield from self.drain()
        self._pending = (partition, [m.offset for m in messages], future)

    def _prepare(self, partition: int, values: list[bytes]) -> tuple[P, float]:
        started = time.perf_counter()
        prepared = self._step.prepare(partition, values)
        return prepared, time.perf_counter() - started

    def drain(self) -> Iterator[Batch[P]]:
        if self._pending is not None:
            partition, offsets, future = self._pending
            self._pending = None
            prepared, seconds = future.result()
            yield Batch(partition, offsets, prepared, seconds)

    def discard(self, partitions: set[int] | None = None) -> None:
        """Drop the pending batch (if it is of one of `partitions`; all when None)."""
        if self._pending is not None and (partitions is None or self._pending[0] in partitions):
            self._pending[2].cancel()
            self._pending = None

    def close(self) -> None:
        self._pool.shutdown(cancel_futures=True)


class ConsumerRuntime(Generic[P]):
    """A consumer group member driving one `Step` over the partitions it owns."""

    def __init__(
        self,
        settings: LoopSettings,
        step: Step[P],
        consumer: KafkaConsumer,
        producer: KafkaProducer | None = None,
        stop_event: threading.Event | None = None,
    ) -> None:
        self.settings, self.step, self.consumer = settings, step, consumer
        self.output = Output(producer) if producer is not None else None
        self.stop_event = stop_event or threading.Event()
        self.ready = False
        self.owned: set[int] = set()
        self.positions: dict[int, int] = {}  # next offset to process, per owned partition
        self._committed: dict[int, int] = {}
        self._ahead: _Ahead[P] = _Ahead(step)
        self._callback_error: BaseException | None = None
        self._failures = 0
        self._rewind = False
        metrics.CONSUMER_READY.set(0)

    # -- partitions ------------------------------------------------------------------------
    def _tp(self, partition: int) -> TopicPartition:
        return TopicPartition(self.settings.topic, partition)

    def _start(self, partition: int, rewind: bool = False) -> None:
        """Resume `partition` where the step says, or at the group's committed offset.

        On assignment the consumer finds the committed offset itself; a rewind seeks to it.
        """
        tp = self._tp(partition)
        offset = self.step.start(partition)
        if offset is None and rewind:
            offset = self.consumer.committed(
                tp, timeout_ms=int(self.settings.commit_timeout_s * 1000)
            )
            if offset is None:
                self.consumer.seek_to_beginning(tp)
        if offset is not None:
            # Seeking below the log start is answered by auto_offset_reset=earliest.
            self.consumer.seek(tp, offset)
            self.positions[partition] = self._committed[partition] = offset
        # Owned only once started: a start that failed is retried by the next resume.
        self.owned.add(partition)
        log_event(
            log,
            "assigned partition %s at offset %s",
            partition,
            "committed" if offset is None else offset,
            topic=self.settings.topic,
            partition=partition,
        )

    def _hand_over(self, partitions: list[int]) -> None:
        """Revoked: process what is pending, flush, save and commit, then forget; the next
        owner resumes from there."""
        owned = [p for p in partitions if p in self.owned]
        for batch in self._ahead.drain():
            self._process(batch)
        known = {p: self.positions[p] for p in owned if p in self.positions}
        if known:
            if self.output is not None:
                self.output.flush()
            self.step.save(sorted(known), known)
            try:
                self._commit_offsets(known)
            except KafkaError as exc:
                # The saved state (ingest) or the last commit still holds: the next owner
                # may redo a few batches, with the same outputs.
                log_event(
                    log,
                    "offsets of revoked partitions not committed: %r",
                    exc,
                    level=logging.WARNING,
                )
        self._forget(owned)

    def _forget(self, partitions: list[int]) -> None:
        self._ahead.discard(set(partitions))
        self.step.forget(partitions)
        for p in partitions:
            self.owned.discard(p)
            self.positions.pop(p, None)
            self._committed.pop(p, None)

    def _listener(self) -> ConsumerRebalanceListener:
        runtime = self

        # kafka-python logs and swallows exceptions raised in these callbacks; they are
        # kept and raised by the loop instead, so a failed hand-over is never skipped.
        class Listener(ConsumerRebalanceListener):  # type: ignore[misc]  # Any: kafka-python has no types
            def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
                runtime._guard(runtime._hand_over, [tp.partition for tp in revoked])

            def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
                for tp in assigned:
                    runtime._guard(runtime._start, tp.partition)

            def on_partitions_lost(self, lost: Iterable[TopicPartition]) -> None:
                # Already someone else's: saving now could overwrite the new owner's state.
                runtime._guard(runtime._forget, [tp.partition for tp in lost])

        return Listener()

    def _guard(self, fn: Callable[..., None], *args: object) -> None:
        try:
            fn(*args)
        except Exception as exc:
            if self._callback_error is None:
                self._callback_error = exc

    # -- the loop ---------------------------------------------------------------------------
    def run(self) -> None:
        """Poll until `stop_event` (or SIGTERM in the main thread), then commit and leave."""
        if threading.current_thread() is threading.main_thread():
            # SIGTERM (docker stop, systemd): a last commit, then leaving the group hands the
            # partitions over at once.
            signal.signal(signal.SIGTERM, lambda *_: self.stop_event.set())
        last_commit = time.monotonic()
        try:
            self._await_partition_metadata()
            self.consumer.subscribe([self.settings.topic], listener=self._listener())
            log_event(
                log,
                "%s: consuming %s at %s as group %s",
                self.settings.service,
                self.settings.topic,
                self.consumer.config["bootstrap_servers"],
                self.settings.group,
            )
            while not self.stop_event.is_set():
                try:
                    if self._rewind:
                        self._resume_all()
                    self._poll_once()
                    if time.monotonic() - last_commit >= self.settings.commit_interval_s:
                        self.commit()
                        last_commit = time.monotonic()
                    self._failures = 0
                except Exception as exc:
                    if not (is_transient(exc) or isinstance(exc, self.settings.transient_errors)):
                        raise
                    self._recover(exc)
            self.commit()
        except BaseException as exc:
            self.ready = False
            metrics.CONSUMER_READY.set(0)
            if not isinstance(exc, KeyboardInterrupt):
                log_event(log, "%s stopped: %r", self.settings.service, exc, level=logging.ERROR)
            # State may be half-updated: leave without saving it; the restart resumes from
            # the last durable point.
            self._forget(sorted(self.owned))
            raise
        finally:
            self._ahead.close()
            self.consumer.close(autocommit=False)
            if self.output is not None:
                self.output.close()

    def _await_partition_metadata(self, timeout_s: float = 60.0) -> None:
        """Join the group only once this consumer knows the topic's partitions.

        A group leader without them assigns nothing ("No partition metadata") and only
        rebalances after its next metadata refresh, minutes later: a fresh worker on a
        new topic would sit idle that long.
        """
        deadline = time.monotonic() + timeout_s
        while not self.consumer.partitions_for_topic(self.settings.topic):
            if time.monotonic() > deadline:
                raise KafkaTimeoutError(f"no partitions known for {self.settings.topic}")
            self.stop_event.wait(0.2)

    def _poll_once(self) -> None:
        polled = self.consumer.poll(timeout_ms=self.settings.poll_timeout_ms)
        self._raise_callback_error()
        if not self.ready:
            self.ready = True
            metrics.CONSUMER_READY.set(1)
        for tp, messages in polled.items():
            if tp.partition not in self.owned:
                continue
            for batch in self._ahead.push(tp.partition, messages):
                self._process(batch)
        if not polled:  # nothing to overlap with: the last batch waits for no one
            for batch in self._ahead.drain():
                self._process(batch)
        self.step.idle(self.output)

    def _process(self, batch: Batch[P]) -> None:
        if batch.partition not in self.owned:  # lost in a rebalance after it was polled
            return
        self.step.process(batch, self.output)
        self.positions[batch.partition] = batch.next_offset

    def _raise_callback_error(self) -> None:
        if self._callback_error is not None:
            error, self._callback_error = self._callback_error, None
            raise error

    def commit(self) -> None:
        """Make everything processed so far durable, then commit its offsets."""
        for batch in self._ahead.drain():
            self._process(batch)
        if self.output is not None:
            self.output.flush(self.settings.commit_timeout_s)
        # Every partition is saved, not only those that moved: state also changes without
        # input (an idle partition's watermark).
        self.step.save(sorted(self.positions), dict(self.positions))
        moved = {p: o for p, o in self.positions.items() if self._committed.get(p) != o}
        if not moved:
            return
        self._commit_offsets(moved)

    def _commit_offsets(self, offsets: dict[int, int]) -> None:
        self.consumer.commit(
            {self._tp(p): OffsetAndMetadata(o, "", -1) for p, o in offsets.items()},
            timeout_ms=int(self.settings.commit_timeout_s * 1000),
        )
        self._committed.update(offsets)
        for p, offset in offsets.items():
            metrics.set_consumer_lag(self.consumer, self._tp(p), offset)

    def _recover(self, exc: Exception) -> None:
        """Back off; the next turn of the loop resumes from the last durable point."""
        self.ready = False
        metrics.CONSUMER_READY.set(0)
        self._failures += 1
        backoff_s = min(MAX_BACKOFF_S, 0.5 * 2 ** (self._failures - 1))
        metrics.CONSUMER_RETRIES.inc()
        log_event(
            log,
            "%s: broker trouble (%s: %s); resuming from the last durable point in %.1f s",
            self.settings.service,
            type(exc).__name__,
            exc,
            backoff_s,
            level=logging.WARNING,
        )
        self.stop_event.wait(backoff_s)
        self._callback_error = None
        self._rewind = True

    def _resume_all(self) -> None:
        """Forget every partition's state and start each the consumer is assigned again
        from its durable point (the assignment, not what was owned: a resume cut short by
        another error leaves some not started, and they must not be skipped)."""
        if self.output is not None:
            self.output.discard_failures()
        self._forget(sorted(self.owned))
        for tp in sorted(self.consumer.assignment()):
            self._start(tp.partition, rewind=True)
        self._rewind = False
