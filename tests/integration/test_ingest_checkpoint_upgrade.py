"""A new `pantau ingest` meets the checkpoints an older version or a bad disk left behind.

Before the worker starts, the checkpoint directory holds, per partition: garbage (0), a
pickled checkpoint after half the partition's messages, as versions before format 6
wrote them (1), a checkpoint of the current format built under other window settings
(2), and nothing (3). The worker must not crash in the partition assignment: it rebuilds
partitions 0-2 from the start of the topic, says why in its log, and publishes exactly
what one uninterrupted worker would.
"""

from __future__ import annotations

import pickle
import signal
from pathlib import Path

import pytest
from _ingest import (
    IngestProcess,
    assert_same_features,
    expected_output,
    ingest_env,
    pack_by_partition,
    produce,
    published_features,
    read_topic,
    wait_caught_up,
)
from _streams import simulated_lines

from services.ingest import checkpoint
from services.ingest.checkpoint import Checkpoint
from services.ingest.config import HOUR_MS, MINUTE_MS, WindowConfig
from services.ingest.processor import PartitionProcessor
from services.ingest.service import window_config
from shared.clock import wall_clock_ms
from shared.kafka import ensure_topics
from shared.schema import Lines
from shared.settings import IngestSettings, KafkaSettings

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

TICK_MS = HOUR_MS


def state_after(partition: int, values: list[bytes], config: WindowConfig) -> PartitionProcessor:
    processor = PartitionProcessor(partition, config)
    processor.submit(Lines.of(values)[0], now_ms=wall_clock_ms())
    return processor


def test_old_and_unusable_checkpoints_are_converted_or_rebuilt_never_a_crash(
    kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    ensure_topics(kafka_settings)
    produce(kafka_settings, pack_by_partition(simulated_lines(30_000), kafka_settings.partitions))
    topic = kafka_settings.events_topic
    settings = IngestSettings(tick_ms=TICK_MS)
    config = window_config(settings)
    messages = read_topic(kafka_settings, topic)
    directory = tmp_path / "checkpoints"
    directory.mkdir()

    (directory / f"{topic}-0.ckpt").write_bytes(b"garbage, no checkpoint")
    half = len(messages[1]) // 2
    old = state_after(1, [v for _, v in messages[1][:half]], config)
    old_checkpoint = Checkpoint(old, next_offset=messages[1][half][0])
    (directory / f"{topic}-1.ckpt").write_bytes(pickle.dumps((5, old_checkpoint)))
    other = WindowConfig(tick_ms=5 * MINUTE_MS)
    checkpoint.save(
        directory,
        topic,
        Checkpoint(state_after(2, [v for _, v in messages[2][:10]], other), messages[2][10][0]),
    )

    group = f"{topic}.ingest"
    env = ingest_env(kafka_settings, tmp_path, group, checkpoint_interval_s=0.5)
    env["PANTAU_INGEST_TICK_MS"] = str(TICK_MS)
    proc = IngestProcess(env, tmp_path / "ingest.log").start()
    try:
        wait_caught_up(kafka_settings, directory, [proc], timeout_s=120)
        proc.kill(signal.SIGTERM)
        assert proc.proc is not None and proc.proc.returncode == 0, proc.tail()
    finally:
        proc.kill(signal.SIGKILL)

    records = proc.log_records()
    ours = [r for r in records if r.get("logger") == "services.ingest.checkpoint"]
    rebuilt = {r["partition"]: r["reason"] for r in ours if r["level"] == "warning"}
    assert set(rebuilt) == {0, 1, 2}, rebuilt
    assert rebuilt[0].startswith("not a checkpoint file")
    assert "a pickle of the formats before 6" in rebuilt[1]
    assert "other window settings" in rebuilt[2]
    assert sorted(r["msg"] for r in records if r["msg"].startswith("assigned partition")) == [
        f"assigned partition {p} at offset 0" for p in range(4)
    ]
    for partition in range(4):  # every partition now has a checkpoint of the current format
        assert checkpoint.load(directory, topic, partition, config) is not None

    expected = expected_output(kafka_settings, settings).features
    assert_same_features(published_features(kafka_settings), expected)
