"""Two `pantau ingest` processes in one consumer group over a 4-partition topic publish
the same features as one process.

The first worker starts alone and builds state for all four partitions; the second joins
while events still stream in, so the group rebalances: the first checkpoints and hands
over two partitions, the second resumes them from those checkpoints. Then SIGTERM stops
the first cleanly and the second takes all four. The features, dead letters and commits
must equal those of one uninterrupted worker.
"""

from __future__ import annotations

import signal
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

from shared.kafka import ensure_topics
from shared.settings import IngestSettings, KafkaSettings

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

EVENTS = 60_000
TICK_MS = 3_600_000


def test_two_workers_in_one_group_publish_what_one_worker_publishes(
    kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    started = time.monotonic()
    ensure_topics(kafka_settings)
    group = f"{kafka_settings.events_topic}.ingest"  # unique: no stale members
    assert kafka_settings.partitions == 4
    lines = simulated_lines(EVENTS)
    messages = pack_by_partition(lines, kafka_settings.partitions)
    half = len(messages) // 2
    produce(kafka_settings, messages[:half])

    env = ingest_env(kafka_settings, tmp_path, group, checkpoint_interval_s=0.5)
    env["PANTAU_INGEST_TICK_MS"] = str(TICK_MS)
    env["PANTAU_INGEST_MAX_POLL_RECORDS"] = "100"
    checkpoint_dir = tmp_path / "checkpoints"
    first = IngestProcess(env, tmp_path / "first.log").start()
    second = IngestProcess(env, tmp_path / "second.log")
    try:
        first.wait_assigned()
        deadline = time.monotonic() + 60
        topic = kafka_settings.events_topic
        while min(checkpointed_offsets(checkpoint_dir, topic, 4).values()) < 0:
            first.check_alive()
            assert time.monotonic() < deadline, first.tail()
            time.sleep(0.1)
        second.start()
        produce(kafka_settings, messages[half:])
        second.wait_assigned()
        wait_caught_up(kafka_settings, checkpoint_dir, [first, second], timeout_s=90)
        # Both still alive: the handover (checkpoint on revocation) did not stop either.
        first.check_alive()
        second.check_alive()
        # SIGTERM stops the first cleanly; it leaves the group and the second takes all.
        first.kill(signal.SIGTERM)
        assert first.proc is not None and first.proc.returncode == 0, first.tail()
        deadline = time.monotonic() + 30
        while len(second.assigned()) < 6:  # two, then all four
            second.check_alive()
            assert time.monotonic() < deadline, second.tail()
            time.sleep(0.1)
    finally:
        for proc in (first, second):
            if proc.proc is not None:
                proc.kill(signal.SIGKILL)

    # The first worker held all four partitions, then was assigned again after the second
    # joined; the second held some, and all four once the first had stopped.
    assert set(first.assigned()[:4]) == {0, 1, 2, 3} and len(first.assigned()) > 4
    assert set(second.assigned()[:-4]) < {0, 1, 2, 3}
    assert set(second.assigned()[-4:]) == {0, 1, 2, 3}

    expected = expected_output(kafka_settings, IngestSettings(tick_ms=TICK_MS))
    assert expected.lines == len(lines)
    assert_same_features(published_features(kafka_settings), expected.features)
    dead = published_dead_letters(kafka_settings)
    assert {dead_letter_key(d) for d in dead} == set(expected.dead_letters)
    ends = end_offsets(kafka_settings, kafka_settings.events_topic)
    assert committed_offsets(kafka_settings, group) == ends
    print(f"lines={len(lines)} in {time.monotonic() - started:.0f} s")
