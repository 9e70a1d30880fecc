"""Run real `pantau ingest` processes on the broker and check what they wrote.

The expected output is computed from the events topic itself: each partition's messages,
in offset order, go through a fresh `PartitionProcessor` (the core the service runs), so
the reference is exactly what one uninterrupted worker must publish. A crashed, restarted
or rebalanced run may publish some (product, tick) rows more than once (ticks between the
last checkpoint and the crash fire again), but every copy must carry the same values and
every reference row must be there.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import polars as pl
from _streams import product_of
from kafka import KafkaConsumer, TopicPartition

from bench.processes import ServiceProcesses, end_offsets, service_env
from services.ingest import checkpoint
from services.ingest.processor import PartitionProcessor
from services.ingest.service import dlq_envelopes, window_config
from shared.clock import wall_clock_ms
from shared.features import FEATURE_SCHEMA
from shared.kafka import frame_to_values, make_producer, values_to_frame
from shared.partitioning import partition_for
from shared.schema import Lines
from shared.settings import IngestSettings, KafkaSettings

LINES_PER_MESSAGE = 40


def pack_by_partition(
    lines: list[bytes], partitions: int, lines_per_message: int = LINES_PER_MESSAGE
) -> list[tuple[int, bytes]]:
    """(partition, NDJSON value) messages, as a connector batching per partition sends them.

    A product's lines all go to `partition_for(product)` (Kafka's key partitioner) in file
    order; lines without a readable product go to partition 0. Packing keeps the producer
    off the critical path of a test that needs hundreds of thousands of events.
    """
    open_batches: dict[int, list[bytes]] = {p: [] for p in range(partitions)}
    messages: list[tuple[int, bytes]] = []
    for line in lines:
        product = product_of(line)
        p = 0 if product is None else partition_for(product, partitions)
        batch = open_batches[p]
        if not line:
            # An empty line at the end of a value would read as its terminator: send it alone.
            if batch:
                messages.append((p, b"\n".join(batch)))
                batch.clear()
            messages.append((p, line))
            continue
        batch.append(line)
        if len(batch) == lines_per_message:
            messages.append((p, b"\n".join(batch)))
            batch.clear()
    messages += [(p, b"\n".join(b)) for p, b in open_batches.items() if b]
    return messages


def produce(kafka: KafkaSettings, messages: list[tuple[int, bytes]]) -> None:
    producer = make_producer(kafka, linger_ms=20)
    futures = [producer.send(kafka.events_topic, value=v, partition=p) for p, v in messages]
    producer.flush()
    for future in futures:
        future.get(timeout=30)
    producer.close()


def read_topic(kafka: KafkaSettings, topic: str) -> dict[int, list[tuple[int, bytes]]]:
    """Every (offset, value) of every partition, up to the end offsets at call time."""
    ends = end_offsets(kafka, topic)
    consumer = KafkaConsumer(
        bootstrap_servers=kafka.bootstrap, enable_auto_commit=False, max_poll_records=10_000
    )
    tps = [TopicPartition(topic, p) for p in ends]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    out: dict[int, list[tuple[int, bytes]]] = {p: [] for p in ends}
    deadline = time.monotonic() + 120
    try:
        while any(consumer.position(tp) < ends[tp.partition] for tp in tps):
            if time.monotonic() > deadline:
                raise TimeoutError(f"could not read {topic} to its end")
            for tp, records in consumer.poll(timeout_ms=500).items():
                out[tp.partition] += [(r.offset, r.value or b"") for r in records]
    finally:
        consumer.close()
    return {p: [(o, v) for o, v in msgs if o < ends[p]] for p, msgs in out.items()}


def checkpointed_offsets(directory: Path, topic: str, partitions: int) -> dict[int, int]:
    """Next offset recorded in each partition's checkpoint file (-1 when there is none)."""
    out = {}
    for p in range(partitions):
        saved = checkpoint.next_offset(directory, topic, p)
        out[p] = -1 if saved is None else saved
    return out


def committed_offsets(kafka: KafkaSettings, group: str) -> dict[int, int | None]:
    consumer = KafkaConsumer(bootstrap_servers=kafka.bootstrap, group_id=group)
    try:
        return {
            p: consumer.committed(TopicPartition(kafka.events_topic, p))
            for p in range(kafka.partitions)
        }
    finally:
        consumer.close()


@dataclass
class Expected:
    """What one uninterrupted worker publishes for the events topic as it stands."""

    features: pl.DataFrame
    dead_letters: Counter[tuple[int, int, str, str]]
    accepted: int = 0
    duplicates: int = 0
    lines: int = 0
    rejected: Counter[str] = field(default_factory=Counter)


def expected_output(
    kafka: KafkaSettings, settings: IngestSettings, batch_messages: int = 500
) -> Expected:
    config = window_config(settings)
    frames: list[pl.DataFrame] = []
    dead: Counter[tuple[int, int, str, str]] = Counter()
    expected = Expected(pl.DataFrame(), dead)
    for partition, messages in read_topic(kafka, kafka.events_topic).items():
        processor = PartitionProcessor(partition, config)
        for start in range(0, len(messages), batch_messages):
            chunk = messages[start : start + batch_messages]
            lines, index = Lines.of([v for _, v in chunk])
            result = processor.submit(lines, now_ms=wall_clock_ms())
            offsets = [o for o, _ in chunk]
            for envelope in dlq_envelopes(
                result, lines, index, offsets, kafka.events_topic, partition
            ):
                dead[dead_letter_key(orjson.loads(envelope))] += 1
            frames += [f for f in result.features if f.height]
            expected.lines += len(lines)
            expected.accepted += result.accepted
            expected.duplicates += result.duplicates
            expected.rejected.update(result.rejected["reason"].to_list())
    # The same JSON round trip the published rows take, so floats compare exactly.
    expected.features = values_to_frame(
        [v for f in frames for v in frame_to_values(f)], FEATURE_SCHEMA
    )
    return expected


def dead_letter_key(envelope: dict) -> tuple[int, int, str, str]:
    return (envelope["partition"], envelope["offset"], envelope["reason"], envelope["raw"])


def published_features(kafka: KafkaSettings) -> pl.DataFrame:
    values = [v for msgs in read_topic(kafka, kafka.features_topic).values() for _, v in msgs]
    return values_to_frame(values, FEATURE_SCHEMA)


def published_dead_letters(kafka: KafkaSettings) -> list[dict]:
    return [
        orjson.loads(v) for msgs in read_topic(kafka, kafka.dlq_topic).values() for _, v in msgs
    ]


def assert_same_features(published: pl.DataFrame, expected: pl.DataFrame) -> int:
    """Published rows equal the expected ones up to repeats; returns how many rows repeat."""
    assert expected.height > 0
    keys = ["partition", "product_id", "tick_ms"]
    distinct = published.unique(maintain_order=True)
    conflicting = distinct.group_by(keys).len().filter(pl.col("len") > 1)
    assert conflicting.height == 0, (
        f"(product, tick) published with different values:\n{conflicting}"
    )
    assert distinct.height == expected.height, (
        f"{distinct.height} distinct published rows, {expected.height} expected"
    )
    ordered = distinct.sort(keys)
    reference = expected.sort(keys)
    # Count columns first: a lost or doubly counted event shows up here, by name.
    lost_or_doubled = (
        ordered.select(*keys, "events_5m")
        .join(reference.select(*keys, "events_5m"), on=keys, how="full", suffix="_expected")
        .filter(pl.col("events_5m") != pl.col("events_5m_expected"))
    )
    assert lost_or_doubled.height == 0, f"event counts differ:\n{lost_or_doubled}"
    assert ordered.equals(reference), "published feature rows differ from the expected rows"
    return published.height - distinct.height


@dataclass
class IngestProcess:
    """One `pantau ingest` OS process logging to `log_path` (several may share a group)."""

    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen | None = None

    def __post_init__(self) -> None:
        self.name = self.log_path.stem
        self.processes = ServiceProcesses(self.env, self.log_path.parent)
        assert self.processes.log_path(self.name) == self.log_path, "log_path must end in .log"

    def start(self) -> IngestProcess:
        command = [sys.executable, "-m", "services.cli", "ingest"]
        self.proc = self.processes.start(self.name, command)
        return self

    def log_records(self) -> list[dict]:
        records = []
        for line in self.log_path.read_bytes().splitlines():
            try:
                records.append(orjson.loads(line))
            except orjson.JSONDecodeError:
                records.append({"msg": line.decode("utf-8", "replace")})
        return records

    def assigned(self) -> list[int]:
        """Partitions this process has been assigned so far (from its log)."""
        prefix = "assigned partition "
        return [
            int(r["msg"][len(prefix) :].split()[0])
            for r in self.log_records()
            if str(r.get("msg", "")).startswith(prefix)
        ]

    def wait_assigned(self, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while not self.assigned():
            self.check_alive()
            if time.monotonic() > deadline:
                raise TimeoutError(f"no partition assigned in {timeout_s} s:\n{self.tail()}")
            time.sleep(0.1)

    def check_alive(self) -> None:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"ingest exited with {self.proc.returncode}:\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        return b"\n".join(self.log_path.read_bytes().splitlines()[-lines:]).decode(
            "utf-8", "replace"
        )

    def kill(self, sig: int = signal.SIGKILL) -> None:
        self.processes.kill(self.name, sig)


def logged_outcomes(proc: IngestProcess) -> Counter[str]:
    """Outcomes summed over the worker's `batch ingested` log lines."""
    total: Counter[str] = Counter()
    for record in proc.log_records():
        if record.get("msg") == "batch ingested":
            total.update({o: record[o] for o in ("accepted", "invalid", "late", "duplicate")})
    return total


def ingest_env(
    kafka: KafkaSettings, work: Path, group: str, checkpoint_interval_s: float
) -> dict[str, str]:
    return service_env(
        kafka,
        work,
        PANTAU_INGEST_GROUP=group,
        PANTAU_INGEST_CHECKPOINT_INTERVAL_S=str(checkpoint_interval_s),
        PANTAU_INGEST_IDLE_TIMEOUT_S="3600",
    )


def wait_caught_up(
    kafka: KafkaSettings,
    checkpoint_dir: Path,
    processes: list[IngestProcess],
    timeout_s: float,
) -> float:
    """Wait until every partition's checkpoint reflects the whole events topic."""
    started = time.monotonic()
    ends = end_offsets(kafka, kafka.events_topic)
    while checkpointed_offsets(checkpoint_dir, kafka.events_topic, kafka.partitions) != ends:
        for proc in processes:
            proc.check_alive()
        if time.monotonic() - started > timeout_s:
            have = checkpointed_offsets(checkpoint_dir, kafka.events_topic, kafka.partitions)
            raise TimeoutError(f"checkpoints at {have}, topic ends at {ends}")
        time.sleep(0.2)
    return time.monotonic() - started
