"""The model's input columns: the feature contract plus a few scale-free ratios. Pure.

Trees need no scaling, but streams the model never saw differ mostly in scale (a small
shop versus a national brand), so the derived inputs compare a product with its own
past: volume of the last hour, 6 h and day against its trailing daily mean, the day
against the earlier days it has been seen for, interactions per view against its own
weekly rate, creators of the last 6 h against the day, how many horizons rise at once,
and whether the source reports views only. The heads-up model also reads the product's
own yesterday (`HEADS_UP_DERIVED`): a cascade shows first as more creators than the day
before while its volume still looks ordinary; and it reads no volume counts. The
calendar is left out except the hour (daily rhythm): weekdays of a few training weeks do
not carry over, and the age of a product in a log that starts mid-life measures the log,
not the product.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from services.model.baseline import growth_ratio
from services.model.labels import interactions, trailing_daily_mean
from shared.features import COUNT_COLUMNS, FEATURE_COLUMNS, HISTORY_COLUMNS, TOTAL_COLUMNS

DERIVED = {
    "volume_vs_daily_mean": pl.col("events_24h") / (trailing_daily_mean() + 1.0),
    "quality_6h_vs_7d": (interactions("6h") / (pl.col("view_6h") + 1.0))
    / (interactions("7d") / (pl.col("view_7d") + 1.0) + 1e-3),
    "creators_6h_vs_24h": 4.0 * pl.col("creators_6h") / (pl.col("creators_24h") + 1.0),
    # The same slope against the product's own normal over three horizons, so a rise is
    # seen whatever its curve: fast (the last hour), steady (6 h) or slow (the day).
    "volume_6h_vs_daily_mean": 4.0 * pl.col("events_6h") / (trailing_daily_mean() + 1.0),
    "volume_1h_vs_daily_mean": 24.0 * pl.col("events_1h") / (trailing_daily_mean() + 1.0),
    # How many of those horizons rise at once: growth that holds across them.
    "rising_horizons": (pl.col("growth_1h_vs_24h") > 1.0).cast(pl.Float64)
    + (pl.col("growth_6h_vs_24h") > 1.0).cast(pl.Float64)
    + (pl.col("growth_24h_vs_7d") > 1.0).cast(pl.Float64),
    # The day against the mean earlier day the product has been seen for (the yardstick
    # ratio of `baseline`): a daily counter or a product a few days old is judged on the
    # days it has, not on an empty week.
    "growth_24h_vs_seen_days": growth_ratio("24h"),
    # Sources that report views only (counters): no interactions, no creators all week.
    "views_only": ((interactions("7d") == 0) & (pl.col("creators_24h") == 0)).cast(pl.Float64),
}
# The history columns feed the heads-up model only, through `HEADS_UP_DERIVED`: the 24 h
# model's inputs stay as they were, so the confident tier does not move.
EXCLUDED = {"weekday_wib", "hours_since_first_seen", *HISTORY_COLUMNS}
INPUT_COLUMNS = [c for c in FEATURE_COLUMNS if c not in EXCLUDED] + list(DERIVED)


def _day_over_day(now: str, before: str) -> pl.Expr:
    """`now` against `before` (+1: a day with none counts as one); a missing `before` row
    is a day with none, a missing `now` (a history column) stays missing."""
    return pl.col(now) / (pl.col(before).fill_null(0.0) + 1.0)


# Yesterday against the product's own day before (history columns, `shared.features`).
HEADS_UP_DERIVED = {
    "creators_24h_vs_day_before": _day_over_day("creators_24h", "creators_24h_day_before"),
    "creators_day_before_vs_two_days_before": _day_over_day(
        "creators_24h_day_before", "creators_24h_two_days_before"
    ),
    "creators_6h_vs_day_before": _day_over_day("creators_6h", "creators_6h_day_before"),
    "events_24h_vs_day_before": _day_over_day("events_24h", "events_24h_day_before"),
    "events_day_before_vs_two_days_before": _day_over_day(
        "events_24h_day_before", "events_24h_two_days_before"
    ),
}
# The heads-up model's inputs (`TrainConfig.heads_up_day_before`): the 24 h model's less
# the actions' and events' counts per window, with the day-over-day ratios and two of the
# day before's values as they were. Volume counts measure a product's size: with the few
# rises a heads-up learns from, they picked out which products rose in training more than
# how a rise begins (docs/model.md, "The heads-up lead"). Creators stay: how many people
# post is the cascade itself.
HEADS_UP_INPUT_COLUMNS = [
    *(c for c in INPUT_COLUMNS if c not in {*COUNT_COLUMNS, *TOTAL_COLUMNS}),
    *HEADS_UP_DERIVED,
    "new_creator_share_6h_day_before",
    "growth_24h_vs_category_day_before",
]
_EXPRESSIONS = {**DERIVED, **HEADS_UP_DERIVED}


def add_derived(features: pl.DataFrame) -> pl.DataFrame:
    return features.with_columns(**DERIVED)


def matrix(features: pl.DataFrame, columns: list[str]) -> np.ndarray:
    """Float32 rows in `columns` order (C order: what `predict` reads without a copy); columns
    the rows lack, and derived inputs over columns they lack, are missing values (NaN), so a
    model keeps scoring when the feature contract gains or loses a column. Derived inputs
    already added (`add_derived`) are read, not recomputed."""
    present = set(features.columns)

    def column(c: str) -> pl.Expr:
        if c in present:
            return pl.col(c)
        derived = _EXPRESSIONS.get(c)
        if derived is not None and set(derived.meta.root_names()) <= present:
            return derived.alias(c)
        return pl.lit(None, pl.Float32).alias(c)

    if not features.height:
        return np.empty((0, len(columns)), dtype=np.float32)
    return features.select([column(c).cast(pl.Float32) for c in columns]).to_numpy(order="c")
