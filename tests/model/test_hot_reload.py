"""Hot reload on the real broker: promote a new version while ScoreService is consuming;
every feature row is scored exactly once, versions switch, every score names its version."""

from __future__ import annotations

import shutil
import threading
import time
import uuid
import zlib
from pathlib import Path

import polars as pl
import pytest
from kafka import KafkaConsumer

from services.model import registry
from services.model.service import ScoreService
from shared.kafka import ensure_topics, frame_to_values, make_producer, values_to_frame
from shared.settings import KafkaSettings, ScoreSettings

pytestmark = [pytest.mark.kafka, pytest.mark.slow]
ROWS_PER_MESSAGE = 50


def produce(kafka: KafkaSettings, rows: pl.DataFrame) -> None:
    producer = make_producer(kafka)
    parts = rows.with_columns(
        p=pl.col("product_id").map_elements(lambda s: zlib.crc32(s.encode()) % 4, pl.Int64)
    ).partition_by("p", as_dict=True)
    for (p,), frame in parts.items():
        for value in frame_to_values(frame.drop("p"), ROWS_PER_MESSAGE):
            producer.send(kafka.features_topic, value=value, partition=int(p))
    producer.flush()
    producer.close()


def collect(consumer: KafkaConsumer, found: list, expected: int, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while len(found) < expected and time.monotonic() < deadline:
        for tp, messages in consumer.poll(timeout_ms=500).items():
            for m in messages:
                for row in values_to_frame([m.value]).iter_rows(named=True):
                    found.append(
                        (
                            tp.partition,
                            m.offset,
                            row["product_id"],
                            row["tick_ms"],
                            row["model_version"],
                        )
                    )


def test_promotion_mid_stream_scores_every_row_once(
    trained, kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    root = tmp_path / "models"
    for version in (trained.good, trained.weak):
        shutil.copytree(version, root / version.name)
    registry.promote(root, trained.good.name)
    ensure_topics(kafka_settings)
    rows = trained.features.filter(pl.col("tick_ms") % 900_000 == 0).head(4_000)
    first, second = rows.head(2_000), rows.tail(2_000)
    settings = ScoreSettings(
        model_dir=root, metrics_port=0, group=f"g{uuid.uuid4().hex[:8]}", reload_check_s=0.05
    )
    service = ScoreService(kafka_settings, settings)
    assert service.step.scorer.version == trained.good.name
    consumer = KafkaConsumer(
        kafka_settings.scores_topic,
        bootstrap_servers=kafka_settings.bootstrap,
        auto_offset_reset="earliest",
    )
    thread = threading.Thread(target=service.run, daemon=True)
    thread.start()
    found: list[tuple] = []
    try:
        produce(kafka_settings, first)
        collect(consumer, found, first.height)
        assert len(found) == first.height
        registry.promote(root, trained.weak.name, force=True)
        produce(kafka_settings, second)
        collect(consumer, found, rows.height)
        collect(consumer, found, rows.height + 1, timeout_s=3)  # anything scored twice?
    finally:
        service.stop_event.set()
        thread.join(timeout=30)
        consumer.close()
    keys = [(pid, tick) for _, _, pid, tick, _ in found]
    assert len(keys) == len(set(keys)) == rows.height
    assert set(keys) == set(zip(rows["product_id"], rows["tick_ms"], strict=True))
    # The model each row came from (its ratio fallback's rows name it after "@").
    versions = [v.split("@")[-1] for *_, v in found]
    assert set(versions) == {trained.good.name, trained.weak.name}
    assert all(v == trained.good.name for v in versions[: first.height])
    for partition in range(4):
        in_order = [v.split("@")[-1] for p, _, _, _, v in sorted(found) if p == partition]
        switched = [v == trained.weak.name for v in in_order]
        assert switched == sorted(switched), f"partition {partition} went back to the old model"
    assert service.step.scorer.version == trained.weak.name
    # the promoted version was compiled off the scoring loop, and is now scored compiled
    assert service.step.scorer.wait_compiled(timeout_s=60)  # type: ignore[attr-defined]
