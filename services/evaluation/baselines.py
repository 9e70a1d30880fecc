"""Yardsticks for the model, each a `Scorer` over the live feature rows.

* growth ratio: `services.model.baseline.GrowthRatioScorer` (last 6 h vs the prior day);
* rolling z-score of hourly volume, the Twitter/Etsy anomaly-detection classic: the
  trailing hour's events against the mean and spread of the 24 hourly counts before it;
* logistic regression on the same feature columns as the model (scikit-learn).

Thresholds are tuned elsewhere (`tuning`), on a training run only.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from shared.columns import column_max, column_min
from shared.features import COUNT_COLUMNS, FEATURE_COLUMNS, HISTORY_COLUMNS, TOTAL_COLUMNS
from shared.scores import SCORE_SCHEMA

from .matching import DAY_MS, EARLY_WINDOW_MS, HOUR_MS

MIN_HISTORY_HOURS = 12
# The logistic regression's columns: the feature row without the history columns, which
# the model does not read yet either (services/model/inputs.py).
LOGISTIC_COLUMNS = [c for c in FEATURE_COLUMNS if c not in HISTORY_COLUMNS]


def _score_rows(
    features: pl.DataFrame,
    score: pl.Expr | pl.Series,
    probability: pl.Expr | pl.Series,
    version: str,
) -> pl.DataFrame:
    return features.with_columns(
        score=score,
        probability=probability,
        model_version=pl.lit(version),
        reasons=pl.lit([], dtype=SCORE_SCHEMA["reasons"]),
        probability_72h=pl.lit(None, pl.Float64),
    ).select(SCORE_SCHEMA.keys())


class RollingZScoreScorer:
    """z = (events in the trailing hour - mean) / std over the 24 hourly counts before it.

    Hourly counts are the `events_1h` of ticks on the hour; a small per-product history of
    them (26 h) and each product's last tick with events are the only state, so batches
    must arrive in tick order per product, as they do live. An active product (events in
    its last 24 h) has no row at a whole hour when nothing entered or left its windows
    during that hour, and then its trailing hour was empty: such hours count as 0.
    The spread has a Poisson floor (sqrt(mean + 1)) so a flat product does not divide by
    zero, and fewer than 12 hours of history give z = 0.
    probability = z+² / (z+² + midpoint²): 0.5 at `midpoint` standard deviations.
    """

    version = "rolling-z-1"

    def __init__(self, midpoint: float = 3.0) -> None:
        self.midpoint = midpoint
        self.history = pl.DataFrame(
            schema={"product_id": pl.String, "hour_ms": pl.Int64, "count": pl.Float64}
        )
        self.last_events = pl.DataFrame(schema={"product_id": pl.String, "tick_ms": pl.Int64})
        self.scored_until_ms: int | None = None

    def score(self, features: pl.DataFrame) -> pl.DataFrame:
        hourly = features.filter(pl.col("tick_ms") % HOUR_MS == 0).select(
            "product_id", hour_ms="tick_ms", count=pl.col("events_1h").cast(pl.Float64)
        )
        hourly = pl.concat([hourly, self._quiet_hours(features, hourly)])
        history = pl.concat([self.history, hourly]).unique(["product_id", "hour_ms"], keep="last")
        stats = (
            history.sort("hour_ms")
            .rolling("hour_ms", period=f"{DAY_MS}i", group_by="product_id")
            .agg(mean=pl.col("count").mean(), std=pl.col("count").std(ddof=0), hours=pl.len())
            .sort("hour_ms")
        )
        # The baseline ends where the trailing hour starts, so the two never overlap.
        rows = features.with_columns(base_ms=pl.col("tick_ms") - HOUR_MS).sort("base_ms")
        joined = rows.join_asof(
            stats,
            left_on="base_ms",
            right_on="hour_ms",
            by="product_id",
            strategy="backward",
            tolerance=HOUR_MS - 1,
            check_sortedness=False,
        )
        spread = pl.max_horizontal(pl.col("std"), (pl.col("mean") + 1).sqrt())
        z = (
            pl.when(pl.col("hours") >= MIN_HISTORY_HOURS)
            .then((pl.col("events_1h") - pl.col("mean")) / spread)
            .otherwise(0.0)
            .fill_null(0.0)
        )
        zpos = z.clip(lower_bound=0.0)
        out = _score_rows(joined, z, zpos.pow(2) / (zpos.pow(2) + self.midpoint**2), self.version)
        latest = column_max(history["hour_ms"], int)
        if latest is not None:
            self.history = history.filter(pl.col("hour_ms") > latest - DAY_MS - 2 * HOUR_MS)
        return out.sort("tick_ms", "product_id")

    def _quiet_hours(self, features: pl.DataFrame, hourly: pl.DataFrame) -> pl.DataFrame:
        """Count-0 entries for the whole hours up to this batch's last tick at which a
        product was active (an event in the 24 h before) but had no row."""
        last_ms = column_max(features["tick_ms"], int)
        first_ms = column_min(features["tick_ms"], int)
        if last_ms is None or first_ms is None:
            return hourly.clear()
        # The tick whose last 5-minute bucket held an event: that bucket starts 5 min before.
        events = pl.concat(
            [
                self.last_events,
                features.filter(pl.col("events_5m") > 0).select("product_id", "tick_ms"),
            ]
        )
        after_ms = self.scored_until_ms
        if after_ms is None:
            after_ms = first_ms - 1
        first_hour = after_ms - after_ms % HOUR_MS + HOUR_MS
        hours: pl.Series = pl.int_range(
            first_hour, last_ms + 1, HOUR_MS, dtype=pl.Int64, eager=True
        )
        self.scored_until_ms = max(last_ms, after_ms)
        self.last_events = (
            events.group_by("product_id")
            .agg(pl.col("tick_ms").max())
            .filter(pl.col("tick_ms") > last_ms - DAY_MS - HOUR_MS)
        )
        if len(hours) == 0 or events.height == 0:
            return hourly.clear()
        candidates = (
            events.select("product_id")
            .unique()
            .join(pl.DataFrame({"hour_ms": hours}), how="cross")
            .sort("hour_ms")
        )
        return (
            candidates.join_asof(
                events.sort("tick_ms"),
                left_on="hour_ms",
                right_on="tick_ms",
                by="product_id",
                strategy="backward",
                check_sortedness=False,
            )
            .filter(pl.col("tick_ms") - 5 * 60_000 >= pl.col("hour_ms") - DAY_MS)
            .join(hourly, on=["product_id", "hour_ms"], how="anti")
            .select("product_id", "hour_ms", count=pl.lit(0.0))
        )


def viral_labels(features: pl.DataFrame, truth: dict[str, Any]) -> np.ndarray:
    """1 where an alert at this tick would catch a viral episode early, else 0."""
    from .matching import viral_episodes

    virals = viral_episodes(truth).select("product_id", "onset_ms", "peak_ms")
    keyed = features.select("product_id", "tick_ms").with_row_index("row")
    hits = (
        keyed.join(virals, on="product_id", how="inner")
        .filter(
            (pl.col("tick_ms") >= pl.col("onset_ms") - EARLY_WINDOW_MS)
            & (pl.col("tick_ms") <= pl.col("peak_ms"))
        )["row"]
        .unique()
        .to_numpy()
    )
    labels = np.zeros(features.height, dtype=np.int8)
    labels[hits] = 1
    return labels


def _design(features: pl.DataFrame) -> np.ndarray:
    """Counts are heavy-tailed, so they enter as log1p; the rest as they are."""
    counts = set(COUNT_COLUMNS + TOTAL_COLUMNS)
    exprs = [
        (pl.col(c).fill_null(0).log1p() if c in counts else pl.col(c).fill_null(0)).alias(c)
        for c in LOGISTIC_COLUMNS
    ]
    return features.select(exprs).to_numpy()


def training_sample(labels: np.ndarray, max_rows: int = 400_000, seed: int = 0) -> np.ndarray:
    """Positions to fit on: every positive row and a random sample of negatives, ascending."""
    rng = np.random.default_rng(seed)
    pos = np.flatnonzero(labels == 1)
    neg = np.flatnonzero(labels == 0)
    keep_neg = rng.choice(neg, size=min(neg.size, max(max_rows - pos.size, 1)), replace=False)
    return np.sort(np.concatenate([pos, keep_neg]))


class LogisticScorer:
    """Logistic regression on the model's feature columns, trained on one run's rows."""

    version = "logistic-1"

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline

    @classmethod
    def fit(cls, features: pl.DataFrame, labels: np.ndarray) -> LogisticScorer:
        """Class-weighted, on the rows given (see `training_sample`) and their labels."""
        model = make_pipeline(
            StandardScaler(), LogisticRegression(max_iter=2000, class_weight="balanced", C=0.1)
        )
        model.fit(_design(features), labels)
        return cls(model)

    def score(self, features: pl.DataFrame) -> pl.DataFrame:
        if features.height == 0:
            return _score_rows(features, pl.lit(0.0), pl.lit(0.0), self.version)
        p = self.pipeline.predict_proba(_design(features))[:, 1]
        proba = pl.Series("p", p, dtype=pl.Float64)
        return _score_rows(features, proba, proba, self.version)
