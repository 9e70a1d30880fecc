"""`kill -9` the ingest process at random moments while events stream in; nothing is lost
and nothing is counted twice.

Over 200k simulated events (with their late events, retries and malformed lines) are
produced while `pantau ingest` runs as a real OS process. It is killed with SIGKILL three
times, each time at a random moment after it made progress, and restarted. The features
it finally published must equal, row for row, those of one uninterrupted worker over the
same topic; every rejected line must be in the DLQ; the Kafka commit must match the
checkpoint.
"""

from __future__ import annotations

import random
import signal
import threading
import time
from pathlib import Path

import pytest
from _ingest import (
    IngestProcess,
    assert_same_features,
    checkpointed_offsets,
    committed_offsets,
    dead_letter_key,
    end_offsets,
    expected_output,
    ingest_env,
    pack_by_partition,
    produce,
    published_dead_letters,
    published_features,
    wait_caught_up,
)
from _streams import simulated_lines

from bench.processes import wait_for
from services.ingest import feature_log
from shared.features import FEATURE_SCHEMA
from shared.kafka import ensure_topics
from shared.settings import IngestSettings, KafkaSettings

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

MIN_EVENTS = 200_000
KILLS = 3
# Hourly ticks keep the run short; the event time covers about a day of them.
TICK_MS = 3_600_000
CHECKPOINT_INTERVAL_S = 0.5
MAX_POLL_MESSAGES = 100  # 4,000 lines: several checkpoints per process life


def stream(kafka: KafkaSettings, messages: list[tuple[int, bytes]], slices: int) -> None:
    """Produce `messages` in `slices` parts, a second apart, as a live feed would."""
    if not messages:
        return
    size = -(-len(messages) // slices)
    for start in range(0, len(messages), size):
        produce(kafka, messages[start : start + size])
        time.sleep(1.0)


def progressed(checkpoint_dir: Path, kafka: KafkaSettings, since: dict[int, int]) -> bool:
    now = checkpointed_offsets(checkpoint_dir, kafka.events_topic, kafka.partitions)
    return any(now[p] > max(since[p], 0) for p in now)


def test_kill_9_and_restart_gives_the_features_of_an_uninterrupted_run(
    kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    started = time.monotonic()
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    ensure_topics(kafka_settings)
    group = f"{kafka_settings.events_topic}.ingest"  # unique: no stale members
    lines = simulated_lines(MIN_EVENTS)
    messages = pack_by_partition(lines, kafka_settings.partitions)
    env = ingest_env(kafka_settings, tmp_path, group, CHECKPOINT_INTERVAL_S)
    env["PANTAU_INGEST_TICK_MS"] = str(TICK_MS)
    env["PANTAU_INGEST_MAX_POLL_RECORDS"] = str(MAX_POLL_MESSAGES)
    checkpoint_dir = tmp_path / "checkpoints"

    # Each run gets a share of the stream while it works; the last share waits until after
    # the kills, so every kill lands mid-stream however fast the worker is.
    share = -(-len(messages) // (KILLS + 1))
    killed_at: list[dict[int, int]] = []
    for run in range(KILLS):
        producer = threading.Thread(
            target=stream, args=(kafka_settings, messages[run * share : (run + 1) * share], 4)
        )
        producer.start()
        before = checkpointed_offsets(checkpoint_dir, kafka_settings.events_topic, 4)
        proc = IngestProcess(env, tmp_path / f"ingest-{run}.log").start()
        proc.wait_assigned(timeout_s=60)
        deadline = time.monotonic() + 60
        while not progressed(checkpoint_dir, kafka_settings, before):
            proc.check_alive()
            assert time.monotonic() < deadline, f"run {run} made no progress:\n{proc.tail()}"
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 2.0))
        proc.kill(signal.SIGKILL)
        killed_at.append(checkpointed_offsets(checkpoint_dir, kafka_settings.events_topic, 4))
        # Kafka's commit never runs ahead of the durable checkpoint, whenever the kill came.
        committed = committed_offsets(kafka_settings, group)
        assert all((committed[p] or 0) <= killed_at[-1][p] for p in committed), committed
        producer.join(timeout=120)
        assert not producer.is_alive()
    stream(kafka_settings, messages[KILLS * share :], 4)

    final = IngestProcess(env, tmp_path / "ingest-final.log").start()
    try:
        wait_caught_up(kafka_settings, checkpoint_dir, [final], timeout_s=120)
        # The commit follows the durable checkpoint: wait for it before the last kill.
        ends = end_offsets(kafka_settings, kafka_settings.events_topic)
        wait_for(
            lambda: committed_offsets(kafka_settings, group) == ends,
            what="the group's commits to reach the end of the topic",
            alive=final.check_alive,
        )
    finally:
        final.kill(signal.SIGKILL)

    ends = end_offsets(kafka_settings, kafka_settings.events_topic)
    # Every kill landed mid-stream, and each run moved the checkpoint on.
    for before, after in zip([dict.fromkeys(ends, -1), *killed_at], killed_at, strict=False):
        assert any(after[p] > max(before[p], 0) for p in ends)
        assert any(after[p] < ends[p] for p in ends)

    caught_up_s = time.monotonic() - started
    expected = expected_output(kafka_settings, IngestSettings(tick_ms=TICK_MS))
    expected_s = time.monotonic() - started - caught_up_s
    assert expected.lines == len(lines) >= MIN_EVENTS
    # Every line is accepted, dropped as a counted duplicate, or dead-lettered.
    assert expected.accepted + expected.duplicates + expected.rejected.total() == len(lines)
    assert expected.duplicates > 0 and expected.rejected["late"] > 0

    repeats = assert_same_features(published_features(kafka_settings), expected.features)
    logged = feature_log.read(tmp_path / "feature-log").select(list(FEATURE_SCHEMA))
    assert_same_features(logged, expected.features)

    dead = published_dead_letters(kafka_settings)
    assert {dead_letter_key(d) for d in dead} == set(expected.dead_letters)
    assert len(dead) >= expected.rejected.total()

    assert committed_offsets(kafka_settings, group) == ends
    print(
        f"seed={seed} lines={len(lines)} kills at {killed_at} repeated feature rows={repeats} "
        f"dead letters={len(dead)} (distinct {len(expected.dead_letters)}) "
        f"caught up after {caught_up_s:.0f} s, reference took {expected_s:.0f} s, "
        f"{time.monotonic() - started:.0f} s in all"
    )
