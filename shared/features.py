"""The feature row: the contract between ingest (which builds it) and the model (which reads it).

Count windows end at the tick; a window of length W covers [ceil(T - W), T) where the
ceiling is to the hour for 6 h and 24 h and to the UTC day for 7 d, so it is between
W minus one bucket and W long. Growth ratios are smoothed with +1 on both sides.

Peer columns set a product's growth against the median growth of its category's products
at the same tick (those active in the last 24 h of its partition; products without a
category form one group): when a whole category lifts (weather, a holiday, a campaign),
its products' own growth says "rising" while this says "like everyone else".
"""

from __future__ import annotations

import polars as pl

from shared.schema import ACTIONS

WINDOWS = ("5m", "1h", "6h", "24h", "7d")
COUNT_COLUMNS = [f"{action}_{w}" for w in WINDOWS for action in ACTIONS]
TOTAL_COLUMNS = [f"events_{w}" for w in WINDOWS]
DERIVED_COLUMNS = [
    "growth_1h_vs_24h",
    "growth_6h_vs_24h",
    "growth_24h_vs_7d",
    "acceleration",
    "engagement_rate_6h",
    "engagement_rate_24h",
    "share_rate_24h",
    "cart_rate_24h",
    "conversion_rate_24h",
]
# Each peer column and the growth column it sets against its category's median.
PEER_OF = {
    "growth_6h_vs_category": "growth_6h_vs_24h",
    "growth_24h_vs_category": "growth_24h_vs_7d",
}
PEER_COLUMNS = list(PEER_OF)
SPREAD_COLUMNS = [
    "creators_6h",
    "creators_24h",
    "new_creator_share_6h",
    "regions_24h",
    "region_entropy_24h",
    "platforms_24h",
]
TIME_COLUMNS = ["hours_since_first_seen", "hour_wib", "weekday_wib"]
FEATURE_COLUMNS = (
    COUNT_COLUMNS + TOTAL_COLUMNS + DERIVED_COLUMNS + PEER_COLUMNS + SPREAD_COLUMNS + TIME_COLUMNS
)

FEATURE_SCHEMA: dict[str, pl.DataType] = {
    "product_id": pl.String(),
    "partition": pl.Int32(),
    "tick_ms": pl.Int64(),
    "watermark_ms": pl.Int64(),
    "category": pl.String(),
    "product_name": pl.String(),
    "top_regions": pl.List(pl.String),
    "platforms": pl.List(pl.String),
    **{name: pl.Float64() for name in FEATURE_COLUMNS},
}
