"""History columns: a product's own values a day and two days earlier, as the feature
contract defines them (a join over the product's own published rows)."""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import orjson
import polars as pl
from polars.testing import assert_frame_equal

from services.ingest.config import DAY_MS, HOUR_MS, WindowConfig
from services.ingest.processor import PartitionProcessor
from services.ingest.row_history import LONG_CELLS, SHORT_CELLS, SOURCES, RowHistory
from services.simulator import SCENARIOS, iter_event_lines
from shared.features import FEATURE_COLUMNS, HISTORY_COLUMNS

NOW_MS = 1_900_000_000_000  # the ingest clock: after every event of these tests


def reference(rows: pl.DataFrame) -> pl.DataFrame:
    """The definition, brute force: for a row at tick t, A = the whole hour at or before
    t - 24 h; the latest row of the same product with a tick in (A - 2 h, A], and the
    same a day earlier."""
    rows = rows.sort("tick_ms")
    out = rows.select("product_id", "tick_ms")
    for days in (1, 2):
        at = (pl.col("tick_ms") - days * DAY_MS) // HOUR_MS * HOUR_MS
        wanted = {c: name for c, (name, d) in SOURCES.items() if d == days}
        earlier = rows.select(
            "product_id", at_ms=pl.col("tick_ms"), **{c: pl.col(n) for c, n in wanted.items()}
        )
        found = out.with_columns(at_ms=at).join_asof(
            earlier,
            on="at_ms",
            by="product_id",
            strategy="backward",
            tolerance=2 * HOUR_MS - 1,
            check_sortedness=False,
        )
        out = out.with_columns(found.select(*wanted))
    return out.select("product_id", "tick_ms", *HISTORY_COLUMNS)


@functools.cache
def small_run() -> pl.DataFrame:
    """Three days of the `small` scenario, one partition, fed hour by hour, with idle
    spells that publish provisional ticks up to a day ahead of the events: the last row
    per product and tick the events reached (what a replay publishes)."""
    scenario = dataclasses.replace(SCENARIOS["small"], days=3)
    processor = PartitionProcessor(0, WindowConfig())
    frames = []
    for hour, (_, lines) in enumerate(iter_event_lines(scenario, seed=3)):
        frames += processor.submit(lines, now_ms=NOW_MS).features
        if hour % 7 == 3:
            frames += processor.advance_to(processor.watermark_ms + DAY_MS)
    rows = pl.concat(frames).filter(pl.col("tick_ms") <= processor.last_tick_ms)
    return rows.unique(["product_id", "tick_ms"], keep="last", maintain_order=True)


def test_history_columns_are_the_product_s_own_earlier_rows() -> None:
    """Provisional rows read the history but never write it: they are published again
    by the tick the events reach, maybe with other values."""
    rows = small_run()
    got = rows.select("product_id", "tick_ms", *HISTORY_COLUMNS).sort("product_id", "tick_ms")
    want = reference(rows).sort("product_id", "tick_ms")
    assert_frame_equal(got, want, check_exact=True)
    # The run reached both horizons, and rows without an earlier row are null.
    for column in ("creators_24h_day_before", "events_24h_two_days_before"):
        assert 0 < rows[column].null_count() < rows.height
    assert rows.select(HISTORY_COLUMNS).select(pl.all().is_nan().any()).row(0) == (False,) * 7


def line(i: int, ts_ms: int, product: str) -> bytes:
    event = {"event_id": f"e{i}", "ts": ts_ms, "platform": "tiktok", "product_id": product}
    return orjson.dumps(event | {"action": "view", "creator_id": f"c{i % 3}"})


T0 = 1_772_409_600_000  # 2026-03-02 00:00 UTC


def test_a_product_back_after_the_retention_starts_with_an_empty_history() -> None:
    """Its slot's cells are emptied when it starts afresh: none is left from its first
    life (a ring cell it did not write again would otherwise keep its old hour)."""
    processor = PartitionProcessor(0, WindowConfig(tick_ms=HOUR_MS))
    back_ms = T0 + 8 * DAY_MS + 10 * HOUR_MS
    first = [line(i, T0 + i * 60_000, "p") for i in range(60)]  # its first hour
    again = [line(100 + i, back_ms + i * 60_000, "p") for i in range(30)]
    # Another product keeps the watermark moving, hour by hour, for nine days.
    steady = [line(1000 + h, T0 + h * HOUR_MS, "q") for h in range(9 * 24)]
    lines = sorted(first + again + steady, key=lambda b: orjson.loads(b)["ts"])
    rows = pl.concat(processor.submit(lines, now_ms=NOW_MS).features)
    back = rows.filter((pl.col("product_id") == "p") & (pl.col("tick_ms") > back_ms))
    assert back.height and back["hours_since_first_seen"].max() < 30  # started afresh
    slot = processor.catalog.slot_of["p"]
    written = processor.catalog.history.hour[slot]
    written = written[written > np.iinfo(np.int32).min].astype(np.int64)
    assert len(written) and written.min() * HOUR_MS > back_ms


def test_a_cell_is_read_only_for_its_own_hour() -> None:
    """Rings reuse cells: a cell a whole ring later belongs to another hour (no row then)."""
    history = RowHistory(8)
    numbers = np.arange(len(FEATURE_COLUMNS), dtype=np.float64)[:, None] + 0.5
    value = dict(zip(FEATURE_COLUMNS, numbers[:, 0], strict=True))
    slot = np.array([3])
    history.record(slot, T0, numbers)
    for tick_ms, days in (
        (T0 + DAY_MS, 1),
        (T0 + DAY_MS + HOUR_MS + 5 * 60_000, 1),
        (T0 + 2 * DAY_MS, 2),
    ):
        got = history.lookup(slot, tick_ms)
        for column, (name, back) in SOURCES.items():
            assert got[column][0] == value[name] if back == days else np.isnan(got[column][0])
    for later_h in (2, SHORT_CELLS, LONG_CELLS, 24 + LONG_CELLS):
        got = history.lookup(slot, T0 + DAY_MS + later_h * HOUR_MS)
        assert all(np.isnan(v[0]) for v in got.values()), later_h
    assert all(np.isnan(v[0]) for v in history.lookup(np.array([2]), T0 + DAY_MS).values())
    history.forget(slot)
    assert all(np.isnan(v[0]) for v in history.lookup(slot, T0 + DAY_MS).values())
