"""Events reach the events topic batched, on their product's partition, readable by ingest."""

from __future__ import annotations

import io

import numpy as np
import polars as pl
import pytest
from kafka import KafkaConsumer

from services.sources.event_writer import EventWriter, event_lines, group_values, line_partitions
from shared.partitioning import partition_for
from shared.schema import Lines, decode_lines
from shared.settings import KafkaSettings

T0 = 1_780_000_000_000


def events(n: int, products: int = 7) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(n)],
            "ts": [T0 + i for i in range(n)],
            "platform": ["tiktok"] * n,
            "product_id": [f"p{i % products}" for i in range(n)],
            "action": ["view"] * n,
            "count": [i + 1 for i in range(n)],
        }
    )


def test_values_hold_one_partition_each_in_line_order_and_under_the_size_limit() -> None:
    frame = events(500)
    lines = event_lines(frame)
    partition = line_partitions(frame["product_id"], 3)
    assert partition.tolist() == [partition_for(p, 3) for p in frame["product_id"]]
    values = group_values(lines, np.arange(len(lines)), partition, max_value_bytes=2_000)
    assert all(len(v) <= 2_000 for _, v in values)
    seen: list[bytes] = []
    for p, value in values:
        decoded = decode_lines(value.split(b"\n")).events
        assert decoded.height and {partition_for(x, 3) for x in decoded["product_id"]} == {p}
        seen += value.split(b"\n")
    assert sorted(seen) == sorted(lines)
    per_partition = {
        p: [ln for ln, q in zip(lines, partition, strict=True) if q == p] for p in range(3)
    }
    for p in range(3):
        assert [ln for q, v in values if q == p for ln in v.split(b"\n")] == per_partition[p]


def test_dry_run_prints_the_events_and_sends_nothing() -> None:
    echo = io.StringIO()
    writer = EventWriter(KafkaSettings(bootstrap="127.0.0.1:1"), dry_run=True, echo=echo)
    writer.send(events(3))
    writer.flush()
    printed = echo.getvalue().splitlines()
    assert len(printed) == 3 and writer.events_sent == 3 and writer.messages_sent == 0
    assert decode_lines([ln.encode() for ln in printed]).events["count"].to_list() == [1, 2, 3]


@pytest.mark.kafka
def test_sent_events_land_on_their_products_partition(kafka_settings: KafkaSettings) -> None:
    writer = EventWriter(kafka_settings)
    frame = events(2_000, products=50)
    writer.send(frame)
    writer.flush()
    writer.close()
    assert writer.events_sent == 2_000
    assert writer.messages_sent <= kafka_settings.partitions  # all of it fits one value each
    consumer = KafkaConsumer(
        kafka_settings.events_topic,
        bootstrap_servers=kafka_settings.bootstrap,
        auto_offset_reset="earliest",
        consumer_timeout_ms=5_000,
    )
    got = []
    for message in consumer:
        lines, _ = Lines.of([message.value])
        decoded = decode_lines(lines)
        assert decoded.rejected.height == 0
        assert {
            partition_for(p, kafka_settings.partitions) for p in decoded.events["product_id"]
        } == {message.partition}
        got += decoded.events["event_id"].to_list()
    consumer.close()
    assert sorted(got) == sorted(frame["event_id"].to_list())


def test_lines_from_several_values_are_grouped_without_their_terminators() -> None:
    frame = events(40)
    values = [frame[:20].write_ndjson().encode(), frame[20:].write_ndjson().encode()]
    lines, _ = Lines.of(values)  # "...\n" + "\n" + "...\n": not back to back
    assert not np.array_equal(lines.starts[1:], lines.ends[:-1] + 1)
    partition = line_partitions(frame["product_id"], 2)
    grouped = group_values(lines, np.arange(40), partition, max_value_bytes=1_000)
    decoded = [decode_lines(Lines.of([v])[0]) for _, v in grouped]
    assert all(d.rejected.height == 0 for d in decoded)
    assert sorted(e for d in decoded for e in d.events["event_id"]) == sorted(frame["event_id"])
