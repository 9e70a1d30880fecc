"""The model's input columns: the feature contract plus a few scale-free ratios. Pure.

Trees need no scaling, but streams the model never saw differ mostly in scale (a small
shop versus a national brand), so the derived inputs compare a product with its own
past: volume against its trailing daily mean, interactions per view against its own
weekly rate, creators of the last 6 h against the day. The calendar is left out except
the hour (daily rhythm): weekdays of a few training weeks do not carry over, and the age
of a product in a log that starts mid-life measures the log, not the product.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from services.model.labels import interactions, trailing_daily_mean
from shared.features import FEATURE_COLUMNS

DERIVED = {
    "volume_vs_daily_mean": pl.col("events_24h") / (trailing_daily_mean() + 1.0),
    "quality_6h_vs_7d": (interactions("6h") / (pl.col("view_6h") + 1.0))
    / (interactions("7d") / (pl.col("view_7d") + 1.0) + 1e-3),
    "creators_6h_vs_24h": 4.0 * pl.col("creators_6h") / (pl.col("creators_24h") + 1.0),
}
EXCLUDED = {"weekday_wib", "hours_since_first_seen"}
INPUT_COLUMNS = [c for c in FEATURE_COLUMNS if c not in EXCLUDED] + list(DERIVED)


def add_derived(features: pl.DataFrame) -> pl.DataFrame:
    return features.with_columns(**DERIVED)


def matrix(features: pl.DataFrame, columns: list[str]) -> np.ndarray:
    """Float32 rows in `columns` order (C order: what `predict` reads without a copy); columns
    the rows lack are missing values (NaN), so a model keeps scoring when the feature
    contract gains or loses a column. Derived inputs already added (`add_derived`) are
    read, not recomputed."""
    present = set(features.columns)
    exprs = [
        pl.col(c)
        if c in present
        else (DERIVED[c].alias(c) if c in DERIVED else pl.lit(None, pl.Float32).alias(c))
        for c in columns
    ]
    if not features.height:
        return np.empty((0, len(columns)), dtype=np.float32)
    return features.select([e.cast(pl.Float32) for e in exprs]).to_numpy(order="c")
