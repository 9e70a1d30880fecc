"""The feature row: the contract between ingest (which builds it) and the model (which reads it).

Which rows a tick emits: a product gets a row at tick T when its windows at T count an
accepted event that the previous tick's did not (an event in T's last 5-minute bucket, or
an older one folded since the previous tick fired), and at a whole hour T when it is
active (events in its 24 h window) and an event of it left one of its windows during the
hour (T - 1 h, T]. So a busy product has a row every tick; an idle one gets a row at the
first whole hour after each change of its counts and spread (its events leaving the 5 min,
1 h, 6 h, 24 h or 7 d window), and none while they stay as its last row shows them (the
time columns and the hour's peer medians are not refreshed then). A product without a
row at a whole hour while active had no events in the hour before. Every event lies in
the `events_5m` of some row (labels sum them; a missing row means no new events). The
rule is a function of the events and the settings only, never of batch cuts.

Count windows end at the tick; a window of length W covers [ceil(T - W), T) where the
ceiling is to the hour for 6 h and 24 h and to the UTC day for 7 d, so it is between
W minus one bucket and W long. Growth ratios are smoothed with +1 on both sides.

Peer columns set a product's growth against the median growth of its category's products
(those active in the last 24 h of its partition; products without a category form one
group): when a whole category lifts (weather, a holiday, a campaign), its products' own
growth says "rising" while this says "like everyone else". The medians are taken over
every active product at the first tick of each hour (the whole hour, except where a
stream starts mid-hour) and serve the ticks of that hour; a category with no active
product then is set against the median of its own rows at the tick.

History columns give a product's own values of earlier rows: the model can set today's
spread against the product's yesterday without a join over the feature log. For a row of
product p at tick t, let A be the whole hour at or before t - 24 h: `<col>_day_before` is
the value of <col> in p's latest row with a tick in (A - 2 h, A], null when p published
no row then; `<col>_two_days_before` is the same with A - 24 h. Rows are those the events
publish (see above), so these columns are a function of the events too, whatever the
batch cuts and restarts; a row published ahead of the events (an idle partition's
provisional tick) reads them but is not read by later rows. A product that starts afresh
(back after the retention) has no earlier rows.
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
HISTORY_COLUMNS = [
    "creators_24h_day_before",
    "creators_6h_day_before",
    "events_24h_day_before",
    "new_creator_share_6h_day_before",
    "growth_24h_vs_category_day_before",
    "creators_24h_two_days_before",
    "events_24h_two_days_before",
]
FEATURE_COLUMNS = (
    COUNT_COLUMNS
    + TOTAL_COLUMNS
    + DERIVED_COLUMNS
    + PEER_COLUMNS
    + SPREAD_COLUMNS
    + TIME_COLUMNS
    + HISTORY_COLUMNS
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
    # The median of the product's last event prices (null: none carried one). Shown to
    # sellers; not a model input.
    "price_idr": pl.Float64(),
    **{name: pl.Float64() for name in FEATURE_COLUMNS},
}
