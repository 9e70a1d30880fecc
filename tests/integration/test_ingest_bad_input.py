"""Bad input on the real broker: every bad line lands in the DLQ with the right reason, a
repeated `event_id` is dropped and counted (not dead-lettered), and the counts add up.

The events go through a real `pantau ingest` process, on one partition in a known order,
so the watermark at each line is known and the expected reason of every line is written
down beside it. Its counts are read where operators read them: its structured logs and
its Prometheus endpoint.
"""

from __future__ import annotations

import signal
from collections import Counter
from pathlib import Path

import httpx
import orjson
import polars as pl
import pytest
from _ingest import (
    IngestProcess,
    ingest_env,
    logged_outcomes,
    published_dead_letters,
    published_features,
    wait_caught_up,
)
from prometheus_client.parser import text_string_to_metric_families

from bench.processes import free_port
from shared.kafka import ensure_topics, make_producer
from shared.settings import KafkaSettings

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

MINUTE_MS = 60_000
START_MS = 1_772_409_600_000  # 2026-03-02T00:00:00Z
PRODUCT = "kopi-susu"
GOOD = 120  # one view a minute for two hours


def event(i: int, **fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "event_id": f"ev-{i}",
        "ts": START_MS + i * MINUTE_MS,
        "platform": "tiktok",
        "product_id": PRODUCT,
        "action": "view",
    }
    return {**base, **fields}


def line(data: object) -> bytes:
    return orjson.dumps(data)


def without(field: str) -> bytes:
    data = event(1000)
    del data[field]
    return line(data)


# (reason, line): rejected whatever the watermark is.
INVALID: list[tuple[str, bytes]] = [
    ("malformed_json", b"{not json"),
    ("malformed_json", b'{"event_id": "cut-off", "ts": 17'),
    ("malformed_json", b"[1, 2]"),
    ("malformed_json", b"null"),
    ("malformed_json", b"\xff\xfe\x00garbage"),
    ("missing_field", without("product_id")),
    ("missing_field", without("ts")),
    ("missing_field", line(event(1001, action=None))),
    ("wrong_type", line(event(1002, product_id={"id": PRODUCT}))),
    ("wrong_type", line(event(1003, product_id=[PRODUCT]))),
    ("wrong_type", line(event(1004, event_id=True))),
    ("wrong_type", line(event(1005, ts="kemarin"))),
    ("wrong_type", line(event(1006, count="banyak"))),
    ("wrong_type", line(event(1007, count=2.5))),
    ("invalid_value", line(event(1008, ts=START_MS // 1000))),
    ("invalid_value", line(event(1009, platform="myspace"))),
    ("invalid_value", line(event(1010, action="follow"))),
    ("invalid_value", line(event(1011, count=0))),
    ("invalid_value", line(event(1012, region="Jawa Tengah"))),
    ("oversized", line(event(1013, product_name="x" * 20_000))),
    ("oversized", line(event(1014, product_name="y" * 100_000))),
]


def stream() -> list[tuple[list[bytes], list[str | None]]]:
    """Messages in produce order: their lines and each line's expected DLQ reason (None: none).

    Good events run one a minute; the bad lines are spread among them, two of them inside
    a multi-line message between good events, so a bad line never takes its neighbours down.
    """
    messages: list[tuple[list[bytes], list[str | None]]] = []
    bad = iter(INVALID)
    for i in range(GOOD):
        if i in (60, 61):
            continue
        messages.append(([line(event(i))], [None]))
        if i == 50:  # a producer retry, and a different payload reusing the id
            messages.append(([line(event(50))], [None]))
            messages.append(([line(event(50, action="like"))], [None]))
        if i == 59:
            (r1, l1), (r2, l2) = next(bad), next(bad)
            messages.append(([line(event(60)), l1, line(event(61)), l2], [None, r1, None, r2]))
        elif i % 5 == 2:
            reason, bad_line = next(bad, (None, b""))
            if reason is not None:
                messages.append(([bad_line], [reason]))
    messages += [([rest], [reason]) for reason, rest in bad]
    messages.append(([b""], ["malformed_json"]))  # an empty value
    # The stream reached minute 119: the watermark is at 109. Minute 30 is too old;
    # minute 112 is within the allowed lateness and still counts.
    messages.append(([line(event(2000, ts=START_MS + 30 * MINUTE_MS))], ["late"]))
    messages.append(([line(event(2001, ts=START_MS + 112 * MINUTE_MS))], [None]))
    return messages


def scrape(port: int) -> dict[tuple[str, str], float]:
    """(sample name, label value) -> value of the ingest counters on a live /metrics."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    return {
        (sample.name, next(iter(sample.labels.values()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name in ("pantau_ingest_events_total", "pantau_dlq_messages_total")
    }


def test_bad_lines_reach_the_dlq_with_their_reason_and_counts_add_up(
    kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    ensure_topics(kafka_settings)
    messages = stream()
    producer = make_producer(kafka_settings)
    offsets = [
        producer.send(
            kafka_settings.events_topic, key=PRODUCT.encode(), value=b"\n".join(lines)
        ).get(timeout=30)
        for lines, _ in messages
    ]
    producer.close()
    partition = offsets[0].partition
    assert {o.partition for o in offsets} == {partition}

    group = f"{kafka_settings.events_topic}.ingest"
    env = ingest_env(kafka_settings, tmp_path, group, checkpoint_interval_s=0.2)
    port = free_port()
    env["PANTAU_INGEST_METRICS_PORT"] = str(port)
    proc = IngestProcess(env, tmp_path / "ingest.log").start()
    try:
        wait_caught_up(kafka_settings, tmp_path / "checkpoints", [proc], timeout_s=60)
        metrics = scrape(port)
        proc.kill(signal.SIGTERM)  # a clean stop: exit code 0
        assert proc.proc is not None and proc.proc.returncode == 0, proc.tail()
    finally:
        proc.kill(signal.SIGKILL)

    expected = sorted(
        (meta.offset, reason, raw.decode("utf-8", "replace")[:65_536])
        for meta, (lines, reasons) in zip(offsets, messages, strict=True)
        for raw, reason in zip(lines, reasons, strict=True)
        if reason is not None
    )
    dead = published_dead_letters(kafka_settings)
    assert sorted((d["offset"], d["reason"], d["raw"]) for d in dead) == expected
    assert all(
        d["topic"] == kafka_settings.events_topic and d["partition"] == partition and d["detail"]
        for d in dead
    )
    reasons = Counter(d["reason"] for d in dead)
    assert set(reasons) == {
        "malformed_json",
        "missing_field",
        "wrong_type",
        "invalid_value",
        "oversized",
        "late",
    }
    longest = max(dead, key=lambda d: len(d["raw"]))
    assert len(longest["raw"]) == 65_536  # the raw line is kept, up to 64 KiB

    produced = sum(len(lines) for lines, _ in messages)
    counts = logged_outcomes(proc)
    assert counts == {
        "accepted": GOOD + 1,
        "duplicate": 2,
        "late": 1,
        "invalid": len(expected) - 1,
    }
    assert counts.total() == produced
    for outcome, n in counts.items():
        assert metrics[("pantau_ingest_events_total", outcome)] == n, outcome
    for reason, n in reasons.items():
        assert metrics[("pantau_dlq_messages_total", reason)] == n, reason

    # Every fired 5-minute window holds exactly its five good views: the retry and the
    # reused id (minute 50) and the late event (minute 30) were not counted.
    features = published_features(kafka_settings).filter(pl.col("product_id") == PRODUCT)
    assert features.height >= 20
    assert features["events_5m"].to_list() == [5.0] * features.height
    assert features["like_5m"].sum() == 0
