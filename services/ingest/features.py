"""Feature rows: one per active product per tick, from window counts and spread.

Defined for every kind of input. A product reported only as coarse counters (one `view`
event per hour with a `count`, no creator, no region) gets its counts and growth as
usual, zero creators/regions and zero engagement rates; the model sees those as "no
spread evidence", not as missing data. Growth ratios use additive smoothing (+1) so a
product going from 0 to 3 events does not look like an infinite rise.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from services.ingest.config import DAY_MS, HOUR_MS, MINUTE_MS
from shared.features import FEATURE_SCHEMA, SPREAD_COLUMNS, WINDOWS
from shared.schema import ACTIONS

WINDOWS_MS: dict[str, int] = dict(
    zip(WINDOWS, (5 * MINUTE_MS, HOUR_MS, 6 * HOUR_MS, DAY_MS, 7 * DAY_MS), strict=True)
)

WIB_OFFSET_MS = 7 * HOUR_MS
_SMOOTHING = 1.0
_ENGAGE = [ACTIONS.index(a) for a in ("like", "comment", "share", "save")]


def count_frame(windows: dict[str, np.ndarray]) -> pl.DataFrame:
    """Per-action and total counts per window from arrays of shape (rows, actions)."""
    columns: dict[str, np.ndarray] = {}
    for w, counts in windows.items():
        for i, action in enumerate(ACTIONS):
            columns[f"{action}_{w}"] = counts[:, i]
        columns[f"events_{w}"] = counts.sum(axis=1)
    return pl.DataFrame(columns)


def _ratio(num: pl.Expr, den: pl.Expr) -> pl.Expr:
    return (num + _SMOOTHING) / (den + _SMOOTHING)


def derived() -> list[pl.Expr]:
    """Growth, acceleration and engagement-quality expressions over the count columns."""
    e = pl.col
    engaged_24h = pl.sum_horizontal(f"{ACTIONS[i]}_24h" for i in _ENGAGE)
    engaged_6h = pl.sum_horizontal(f"{ACTIONS[i]}_6h" for i in _ENGAGE)
    views_24h = pl.max_horizontal(e("view_24h"), pl.lit(1))
    views_6h = pl.max_horizontal(e("view_6h"), pl.lit(1))
    prior_hourly = (e("events_24h") - e("events_1h")) / 23.0
    prior_6h = (e("events_24h") - e("events_6h")) / 3.0
    prior_daily = (e("events_7d") - e("events_24h")) / 6.0
    g1 = _ratio(e("events_1h"), prior_hourly)
    g6 = _ratio(e("events_6h"), prior_6h)
    return [
        g1.alias("growth_1h_vs_24h"),
        g6.alias("growth_6h_vs_24h"),
        _ratio(e("events_24h"), prior_daily).alias("growth_24h_vs_7d"),
        (g1.log() - g6.log()).alias("acceleration"),
        (engaged_6h / views_6h).alias("engagement_rate_6h"),
        (engaged_24h / views_24h).alias("engagement_rate_24h"),
        (e("share_24h") / views_24h).alias("share_rate_24h"),
        (e("add_to_cart_24h") / views_24h).alias("cart_rate_24h"),
        (e("purchase_24h") / views_24h).alias("conversion_rate_24h"),
    ]


def time_columns(tick_ms: int, first_seen_ms: pl.Expr) -> list[pl.Expr]:
    wib = tick_ms + WIB_OFFSET_MS
    return [
        ((tick_ms - first_seen_ms) / HOUR_MS).alias("hours_since_first_seen"),
        pl.lit((wib // HOUR_MS) % 24, pl.Int32).alias("hour_wib"),
        # 1970-01-01 was a Thursday: weekday 0 = Monday.
        pl.lit((wib // DAY_MS + 3) % 7, pl.Int32).alias("weekday_wib"),
    ]


def assemble(
    keys: pl.DataFrame, counts: pl.DataFrame, spread: pl.DataFrame, tick_ms: int
) -> pl.DataFrame:
    """Join keys (slot, product_id, partition, watermark_ms, first_seen_ms, info) with counts
    and spread into the published feature rows, keeping only products active in the last day."""
    rows = pl.concat([keys, counts], how="horizontal").filter(pl.col("events_24h") > 0)
    rows = (
        rows.join(spread, on="slot", how="left")
        .with_columns(pl.col(c).fill_null(0) for c in SPREAD_COLUMNS)
        .with_columns(pl.col("top_regions", "platforms").fill_null([]))
    )
    return (
        rows.with_columns(
            *derived(), *time_columns(tick_ms, pl.col("first_seen_ms")), tick_ms=pl.lit(tick_ms)
        )
        .select(pl.col(name).cast(dtype) for name, dtype in FEATURE_SCHEMA.items())
        .sort("product_id")
    )
