"""Growth-ratio baselines: a product's recent volume against its own earlier volume.

Plain and explainable, they are the yardsticks every learned model must beat, and one of
them scores while no trained model is promoted (`cold_start_scorer`). A ratio is not a
probability: these scorers say so (`calibrated = False`, versions starting `baseline-`),
and the seller page shows their output as a growth ranking, never as a chance.

Two ratios:
* `6h`: the last 6 h against the 18 h before them (`growth_6h_vs_24h`);
* `24h`: the last 24 h against the mean day before them within the 7-day window, over
  the days the product has been seen (at most 6), so a product seen for two days is
  compared with its one earlier day, not with a week it was not there for. A daily
  counter source (one event a day) is flat on it, where the 6 h ratio jumps every day.
"""

from __future__ import annotations

import math

import polars as pl

from shared.scores import BASELINE_THRESHOLD, SCORE_SCHEMA, UNCALIBRATED_PREFIX
from shared.settings import AlertSettings

WINDOW_COLUMNS = {
    "6h": ("growth_6h_vs_24h",),
    "24h": ("events_24h", "events_7d"),
}
HISTORY_COLUMNS = ("events_24h", "hours_since_first_seen")

# Cold start: alert when the last day runs at 5x its usual day (the more precise of the
# two ratios in docs/evaluation.md), on at least the label's volume, and never before a
# product has a full earlier day to compare with.
COLD_START_RATIO = 5.0
COLD_START_MIN_HISTORY_H = 48.0
COLD_START_MIN_EVENTS_24H = 200.0


def growth_ratio(window: str) -> pl.Expr:
    """The ratio a window names, additively smoothed (+1) like the feature columns."""
    if window == "6h":
        return pl.col("growth_6h_vs_24h")
    if window != "24h":
        raise ValueError(f"window is 6h or 24h, not {window!r}")
    seen_days = (pl.col("hours_since_first_seen").fill_null(0.0) / 24.0 - 1.0).clip(1.0, 6.0)
    prior_daily = (pl.col("events_7d") - pl.col("events_24h")).clip(lower_bound=0.0) / seen_days
    return (pl.col("events_24h") + 1.0) / (prior_daily + 1.0)


class GrowthRatioScorer:
    """score = the growth ratio; probability = an alert strength g² / (g² + midpoint²).

    The strength is 0.5 at the midpoint and orders products as the ratio does; it is not
    calibrated. Both are 0 while a product has less than `min_history_h` of history or
    fewer than `min_events_24h` events in its last day: a ratio over nothing is noise, and
    the page ranks by score, so a new product's first-day ratio must not top the list.
    """

    calibrated = False

    def __init__(
        self,
        midpoint: float = 4.0,
        window: str = "6h",
        min_history_h: float = 0.0,
        min_events_24h: float = 0.0,
    ) -> None:
        growth_ratio(window)  # refuses an unknown window now, not at the first batch
        self.midpoint, self.window = midpoint, window
        self.min_history_h, self.min_events_24h = min_history_h, min_events_24h
        self.version = f"{UNCALIBRATED_PREFIX}growth-{window}"

    @property
    def columns(self) -> tuple[str, ...]:
        """The feature columns it reads."""
        return tuple(dict.fromkeys(WINDOW_COLUMNS[self.window] + HISTORY_COLUMNS))

    def _enough(self) -> pl.Expr:
        return (pl.col("hours_since_first_seen").fill_null(0.0) >= self.min_history_h) & (
            pl.col("events_24h").fill_null(0.0) >= self.min_events_24h
        )

    def growth(self) -> pl.Expr:
        """The growth ratio (the score rows' `score`) as an expression."""
        return pl.when(self._enough()).then(growth_ratio(self.window)).otherwise(0.0)

    def strength(self) -> pl.Expr:
        """The alert strength (the score rows' `probability`) as an expression."""
        growth = growth_ratio(self.window)
        strength = growth.pow(2) / (growth.pow(2) + self.midpoint**2)
        return pl.when(self._enough()).then(strength).otherwise(0.0)

    def score(self, features: pl.DataFrame) -> pl.DataFrame:
        return features.with_columns(
            score=self.growth(),
            probability=self.strength(),
            model_version=pl.lit(self.version),
            reasons=pl.lit([], dtype=SCORE_SCHEMA["reasons"]),
            probability_72h=pl.lit(None, pl.Float64),
        ).select(SCORE_SCHEMA.keys())


def midpoint_for(ratio: float, threshold: float) -> float:
    """The midpoint at which a strength of `threshold` means a growth of exactly `ratio`."""
    return ratio * math.sqrt((1.0 - threshold) / threshold)


def cold_start_scorer(threshold: float = BASELINE_THRESHOLD) -> GrowthRatioScorer:
    """What scores while no model is promoted: at a baseline's alert level (`AlertRules`)
    it alerts on a day at 5x the product's usual day, with two days of history and some
    volume (`PANTAU_ALERT_RATIO_MIN_EVENTS_24H` when set)."""
    floor = AlertSettings().ratio_min_events_24h
    return GrowthRatioScorer(
        midpoint_for(COLD_START_RATIO, threshold),
        window="24h",
        min_history_h=COLD_START_MIN_HISTORY_H,
        min_events_24h=COLD_START_MIN_EVENTS_24H if floor is None else floor,
    )
