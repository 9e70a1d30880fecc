"""The feature log: a file per partition and hour, consistent with checkpoints."""

from __future__ import annotations

import pickle
from pathlib import Path

import orjson
import polars as pl
import pytest

from services.ingest import feature_log
from services.ingest.config import HOUR_MS, MINUTE_MS, WindowConfig
from services.ingest.feature_log import FeatureLog
from services.ingest.processor import PartitionProcessor

START = 1_772_409_600_000 + 23 * MINUTE_MS
CONFIG = WindowConfig()
NOW = 4_000_000_000_000  # the ingest clock: after every event here
BATCH = 40


def batches() -> list[list[bytes]]:
    """Four hours of events for a few products, in batches of about ten minutes."""
    lines = [
        orjson.dumps(
            {
                "event_id": f"e{i}",
                "ts": START + i * 15_000,
                "platform": "tiktok",
                "product_id": f"p{i % 7 if i % 3 else 0}",
                "action": "view",
            }
        )
        for i in range(4 * 240)
    ]
    return [lines[i : i + BATCH] for i in range(0, len(lines), BATCH)]


def run(directory: Path, stream: list[list[bytes]], checkpoint_every: int, crash_at: int) -> None:
    """Ingest with a checkpoint every few batches; at `crash_at` lose everything in memory
    and resume from the last checkpoint, as a killed worker does."""
    processor, log = PartitionProcessor(0, CONFIG), FeatureLog(directory)
    saved, position, crashed = pickle.dumps((processor, 0)), 0, False
    while position < len(stream):
        if position == crash_at and not crashed:
            crashed = True
            processor, position = pickle.loads(saved)
            log = FeatureLog(directory)
            log.resume(0, processor.last_tick_ms)
            continue
        log.add(0, processor.submit(stream[position], now_ms=NOW).features)
        position += 1
        if position % checkpoint_every == 0:
            log.flush(0)  # before the checkpoint, as the service does
            saved = pickle.dumps((processor, position))
    log.flush(0)


def expected_rows(stream: list[list[bytes]]) -> pl.DataFrame:
    processor = PartitionProcessor(0, CONFIG)
    return pl.concat([f for lines in stream for f in processor.submit(lines, now_ms=NOW).features])


@pytest.mark.parametrize(("checkpoint_every", "crash_at"), [(3, 8), (4, 13), (5, 19), (7, 22)])
def test_a_restart_from_the_checkpoint_neither_loses_nor_repeats_rows(
    tmp_path: Path, checkpoint_every: int, crash_at: int
) -> None:
    stream = batches()
    run(tmp_path, stream, checkpoint_every, crash_at)
    files = sorted(tmp_path.glob("day=*/*.parquet"))
    raw = pl.concat([pl.read_parquet(f) for f in files])
    want = expected_rows(stream)
    hours = want.select(pl.col("tick_ms") - pl.col("tick_ms") % HOUR_MS).unique().height
    assert len(files) == hours == 5  # one file per hour with rows, none per tick
    assert raw.height == want.height  # nothing lost, nothing twice
    key = ["tick_ms", "product_id"]
    assert raw.sort(key).equals(want.sort(key))
    assert feature_log.read(tmp_path).equals(want.sort(key))


def test_write_replaces_the_files_of_its_hours(tmp_path: Path) -> None:
    rows = expected_rows(batches())
    feature_log.write(tmp_path, rows)
    feature_log.write(tmp_path, rows)
    assert sum(1 for _ in tmp_path.glob("day=*/*.parquet")) == 5
    assert feature_log.read(tmp_path).height == rows.height


def test_reading_the_last_days_skips_older_files(tmp_path: Path) -> None:
    """`last_ms` keeps the log's last stretch of event time; days before it are not read
    at all (a broken old file does not matter), the day across the cut is filtered."""
    day_ms = 24 * HOUR_MS
    ticks = [d * day_ms + h * HOUR_MS for d in range(5) for h in range(0, 24, 6)]
    rows = pl.DataFrame({"product_id": "p", "tick_ms": ticks, "partition": 0})
    feature_log.write(tmp_path, rows)
    oldest = sorted(tmp_path.glob("day=1970-01-01/*.parquet"))[0]
    oldest.write_bytes(b"not parquet")
    last = feature_log.read(tmp_path, last_ms=2 * day_ms)
    assert last["tick_ms"].to_list() == [t for t in ticks if t > ticks[-1] - 2 * day_ms]
    with pytest.raises(pl.exceptions.ComputeError):
        feature_log.read(tmp_path)
