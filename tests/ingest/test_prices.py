"""A product's typical price: the median of its last event prices, the same however the
events are cut into batches, null for a product whose events carry none."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import polars as pl

from services.ingest import feature_log
from services.ingest.catalog import PRICE_SAMPLES, Catalog
from services.ingest.config import HOUR_MS, MINUTE_MS, WindowConfig
from services.ingest.processor import PartitionProcessor
from services.ingest.windows import CountWindows

START = 1_772_409_600_000 + 7 * MINUTE_MS
NOW = 4_000_000_000_000
PRICES = [15_000.0] * 5 + [1e9] + [12_000.0, 18_000.0] * 10  # one typo'd price among many


def lines() -> list[bytes]:
    priced = [
        {"product_id": "keripik", "price_idr": price, "ts": START + i * MINUTE_MS}
        for i, price in enumerate(PRICES)
    ]
    unpriced = [{"product_id": "bakso", "ts": START + i * MINUTE_MS} for i in range(5)]
    events = sorted(priced + unpriced, key=lambda e: e["ts"])
    events.append({"product_id": "bakso", "ts": START + 3 * HOUR_MS})  # passes the ticks
    return [
        orjson.dumps({"event_id": f"e{i}", "platform": "tiktok", "action": "view", **e})
        for i, e in enumerate(events)
    ]


def prices(parts: list[list[bytes]]) -> dict[str, float | None]:
    processor = PartitionProcessor(0, WindowConfig(tick_ms=HOUR_MS))
    rows = pl.concat([f for part in parts for f in processor.submit(part, now_ms=NOW).features])
    last = rows.sort("tick_ms").group_by("product_id").agg(pl.col("price_idr").last())
    return dict(last.iter_rows())


def test_typical_price_is_the_median_of_the_last_prices_in_any_batches() -> None:
    events = lines()
    whole = prices([events])
    assert whole["keripik"] == float(np.median(PRICES[-PRICE_SAMPLES:]))  # the typo is gone
    assert whole["bakso"] is None
    assert prices([[line] for line in events]) == whole
    assert prices([events[:7], events[7:]]) == whole


def test_the_feature_log_reads_days_logged_before_prices(tmp_path: Path) -> None:
    processor = PartitionProcessor(0, WindowConfig(tick_ms=HOUR_MS))
    rows = pl.concat(processor.submit(lines(), now_ms=NOW).features)
    older, newer = tmp_path / "day=2026-03-01", tmp_path / "day=2026-03-02"
    older.mkdir()
    newer.mkdir()
    rows.head(1).drop("price_idr").write_parquet(older / "a.parquet")
    rows.tail(-1).write_parquet(newer / "a.parquet")
    read = feature_log.read(tmp_path)
    assert read.height == rows.height and read["price_idr"].null_count() >= 1


def test_typical_prices_kept_between_ticks_follow_every_change() -> None:
    """Typical prices are computed again only for slots whose prices changed: after new
    prices, a restart and a restore they equal the median of the last prices noted."""
    rng = np.random.default_rng(5)
    windows = CountWindows(WindowConfig(), capacity=8)
    catalog = Catalog(windows, WindowConfig().retention_ms)
    noted: dict[int, list[float]] = {slot: [] for slot in range(8)}

    def note(slots: list[int]) -> None:
        prices = rng.integers(1, 100, len(slots)).astype(np.float64)
        catalog.note_prices(np.array(slots), prices)
        for slot, price in zip(slots, prices.tolist(), strict=True):
            noted[slot].append(price)

    def check() -> None:
        want = [np.median(p[-PRICE_SAMPLES:]) if p else np.nan for p in noted.values()]
        got = catalog.typical_price(np.arange(8))
        np.testing.assert_array_equal(got, np.array(want))

    note([0, 1, 1, 2] * 5)
    check()
    note([1, 3] * 9)
    check()
    catalog.restart(np.array([0, 3]), np.array([START, START]))
    noted[0], noted[3] = [], []
    check()
    note([3, 4])
    catalog = Catalog.from_arrays(windows, WindowConfig().retention_ms, catalog.to_arrays())
    note([4, 5])
    check()


def test_the_catalog_size_counts_every_array_it_holds() -> None:
    """`state_bytes` (metrics, benches) must not leave out the price rings or their cache."""
    catalog = Catalog(CountWindows(WindowConfig()), WindowConfig().retention_ms)
    held = sum(
        value.nbytes
        for value in vars(catalog).values()
        if isinstance(value, np.ndarray) and value.dtype != object
    )
    assert catalog.nbytes >= held + catalog.history.nbytes
