"""Which products get a row at a tick: those whose windows gained an event since the
previous tick, and at each whole hour the active products whose windows lost an event
during the hour; peer medians of the hour."""

from __future__ import annotations

import statistics

import orjson
import polars as pl

from services.ingest.config import HOUR_MS, MINUTE_MS, WindowConfig
from services.ingest.processor import PartitionProcessor

START = 1_772_409_600_000  # a whole hour
CONFIG = WindowConfig()
NOW = 4_000_000_000_000  # the ingest clock: after every event here


def event(i: int, ts: int, product: str, category: str | None = None) -> bytes:
    ev = {"event_id": f"e{i}", "ts": ts, "platform": "tiktok", "product_id": product}
    return orjson.dumps(ev | {"action": "view"} | ({"category": category} if category else {}))


def rows_of(lines: list[bytes], batch: int = 7) -> pl.DataFrame:
    processor = PartitionProcessor(0, CONFIG)
    frames = []
    for offset in range(0, len(lines), batch):
        frames += processor.submit(lines[offset : offset + batch], now_ms=NOW).features
    return pl.concat(frames)


def test_an_idle_product_refreshes_when_its_event_leaves_a_window_and_a_busy_one_every_tick() -> (
    None
):
    # "busy" has an event every minute for 26 hours; "idle" one event at 00:02.
    lines = [event(i, START + i * MINUTE_MS, "busy") for i in range(26 * 60)]
    lines.insert(3, event(100_000, START + 2 * MINUTE_MS, "idle"))
    rows = rows_of(lines, batch=97)
    ticks = rows.filter(pl.col("product_id") == "busy")["tick_ms"].to_list()
    assert ticks == list(range(START + 5 * MINUTE_MS, ticks[-1] + 1, 5 * MINUTE_MS))
    idle = rows.filter(pl.col("product_id") == "idle")
    # The tick that first counts its event, then the whole hours after it left the 5 min
    # (00:10), 1 h (01:05) and 6 h (06:05) windows; it leaves the 24 h window at 24:05,
    # and an inactive product has no row. Each row shows what changed.
    assert idle["tick_ms"].to_list() == [
        START + 5 * MINUTE_MS,
        START + HOUR_MS,
        START + 2 * HOUR_MS,
        START + 7 * HOUR_MS,
    ]
    assert idle.select("events_5m", "events_1h", "events_6h", "events_24h").rows() == [
        (1, 1, 1, 1),
        (0, 1, 1, 1),
        (0, 0, 1, 1),
        (0, 0, 0, 1),
    ]


def test_every_event_is_in_the_last_bucket_of_a_row() -> None:
    """Labels sum `events_5m` over later rows: a tick whose last bucket holds events must
    have a row, even when those events were folded before the previous tick fired."""
    lines = []
    for i in range(2 * 60):
        lines.append(event(i, START + i * MINUTE_MS, "clock"))
        if i % 17 == 3:  # a lone event a few minutes ahead of the clock
            lines.append(event(10_000 + i, START + (i + 7) * MINUTE_MS, f"p{i}"))
    rows = rows_of(lines, batch=50)
    last_tick = rows["tick_ms"].max()
    for i in range(3, 2 * 60, 17):
        ts = START + (i + 7) * MINUTE_MS
        if ts < last_tick:
            mine = rows.filter(pl.col("product_id") == f"p{i}")
            assert mine["events_5m"].sum() == 1, i


def test_peer_medians_are_taken_over_every_active_product_at_the_hour() -> None:
    lines = []
    for i in range(60):  # three products of one category, growing differently
        for k, product in enumerate(("a", "b", "c")):
            if i % (k + 1) == 0:
                lines.append(event(i * 10 + k, START + i * MINUTE_MS, product, "kuliner"))
    # Only "a" continues into the next hour.
    lines += [event(5_000 + i, START + HOUR_MS + i * MINUTE_MS, "a") for i in range(30)]
    rows = rows_of(lines)
    hour = rows.filter(pl.col("tick_ms") == START + HOUR_MS)
    assert sorted(hour["product_id"]) == ["a", "b", "c"]
    median = statistics.median(hour["growth_6h_vs_24h"])
    later = rows.filter(pl.col("tick_ms") == START + HOUR_MS + 15 * MINUTE_MS)
    assert later["product_id"].to_list() == ["a"]
    row = later.row(0, named=True)
    assert row["growth_6h_vs_category"] == row["growth_6h_vs_24h"] / median
    assert row["growth_6h_vs_category"] != 1.0  # not set against itself alone
