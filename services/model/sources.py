"""Kinds of source the model is not fit for, and what scores them instead.

A daily view counter (one `view` event a day with that day's count, no interactions, no
creators: what a platform's public API gives) is a source the simulated training data
never shows: its windows jump once a day and sit still in between. On real daily
counters (docs/evaluation.md, the YouTube series) the model trained on simulated streams
is worse than the plain day-over-week growth ratio, so rows of such a source are scored
by that ratio instead: the confident tier at `ratio` times the product's usual day, the
heads-up tier at `heads_up_ratio` times (alerting at each tier's threshold exactly when the
growth reaches its ratio). Its rows go out as a baseline's (`UNCALIBRATED_PREFIX`): a
growth strength is no chance, so the page and the messages say the growth, and the alert
engine holds them to a baseline's levels. Which rows: views only, and the last 6 h hold
either the whole day's volume or none of it, and the last hour too (a counter that arrives
once a day). Pure.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import numpy as np
import polars as pl

from services.model.baseline import (
    COLD_START_MIN_EVENTS_24H,
    COLD_START_MIN_HISTORY_H,
    GrowthRatioScorer,
    midpoint_for,
)
from services.model.labels import interactions
from shared.alerts import AlertRules
from shared.scores import BASELINE_THRESHOLD, HEADS_UP_THRESHOLD, UNCALIBRATED_PREFIX
from shared.settings import AlertSettings

VIEWS_ONLY = (interactions("7d") == 0) & (pl.col("creators_24h") == 0)
# The day's one event is in the last 6 h or it is not; when it is, it is in the last hour
# or it is not. An hourly counter waking from a quiet night also has its whole day in the
# last 6 h, but spread over several hours (some of it in the last hour, some before).
_ONE_EVENT_1H = (pl.col("events_1h") == 0) | (pl.col("events_1h") == pl.col("events_24h"))
DAILY_COUNTER = (
    VIEWS_ONLY
    & (pl.col("events_24h") > 0)
    & ((pl.col("events_6h") == 0) | ((pl.col("events_6h") == pl.col("events_24h")) & _ONE_EVENT_1H))
)
# Kinds of source a row can come from, as its windows show them: a counter polled once a
# day, another views-only source (an hourly counter), and per-action events.
SOURCE_KINDS = ("daily_counter", "views_only", "events")


def source_kinds(features: pl.DataFrame) -> np.ndarray:
    """Each row's kind of source (`SOURCE_KINDS`), from its own windows."""
    if not features.height:
        return np.zeros(0, dtype=object)
    kind = (
        pl.when(DAILY_COUNTER.fill_null(False))
        .then(pl.lit(SOURCE_KINDS[0]))
        .when(VIEWS_ONLY.fill_null(False))
        .then(pl.lit(SOURCE_KINDS[1]))
        .otherwise(pl.lit(SOURCE_KINDS[2]))
    )
    return features.select(kind).to_series().to_numpy()


@dataclass(frozen=True)
class RatioFallback:
    """The growth ratios that score daily counter rows, and the tiers' thresholds."""

    ratio: float = 5.0
    heads_up_ratio: float = 3.0
    # Its rows are a baseline's, so the alert engine holds them to a baseline's level of
    # each tier (`AlertRules.confident_level`, `heads_up_level`).
    threshold: float = BASELINE_THRESHOLD
    heads_up_threshold: float = HEADS_UP_THRESHOLD
    min_history_h: float = COLD_START_MIN_HISTORY_H
    min_events_24h: float = COLD_START_MIN_EVENTS_24H
    kinds: tuple[str, ...] = ("daily_counter",)  # which `SOURCE_KINDS` it scores
    version: ClassVar[str] = f"{UNCALIBRATED_PREFIX}growth-24h"  # its rows' model_version

    def __post_init__(self) -> None:
        unknown = set(self.kinds) - set(SOURCE_KINDS)
        if unknown:
            raise ValueError(f"unknown source kinds {sorted(unknown)}; one of {SOURCE_KINDS}")

    def as_dict(self) -> dict[str, Any]:
        """What a version stores: the ratios and kinds, not the thresholds (the deployment's)."""
        kept = {k: v for k, v in asdict(self).items() if "threshold" not in k}
        return {**kept, "kinds": list(self.kinds)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RatioFallback:
        """The stored ratios at the live alert thresholds (`PANTAU_ALERT_*`), so each tier
        alerts exactly when the growth reaches its ratio, and at the deployment's volume
        floor when it sets one."""
        settings = AlertSettings()
        rules = AlertRules.from_settings(settings)
        stored = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        kinds = tuple(stored.get("kinds", cls.kinds))
        stored |= {"threshold": rules.confident_level(0.0, calibrated=False), "kinds": kinds}
        if settings.ratio_min_events_24h is not None:
            stored |= {"min_events_24h": settings.ratio_min_events_24h}
        heads_up = rules.heads_up_level(0.0, calibrated=False)
        if heads_up is not None:
            stored |= {"heads_up_threshold": heads_up}
        return cls(**stored)

    def rows(self, features: pl.DataFrame) -> np.ndarray:
        """Which rows come from a kind of source this fallback scores."""
        return np.isin(source_kinds(features), self.kinds)

    def _scorer(self, ratio: float, threshold: float) -> GrowthRatioScorer:
        return GrowthRatioScorer(
            midpoint_for(ratio, threshold),
            window="24h",
            min_history_h=self.min_history_h,
            min_events_24h=self.min_events_24h,
        )

    def score(self, features: pl.DataFrame) -> pl.DataFrame:
        """Its rows' `probability` and `probability_72h` (each tier's growth strength)
        and `score` (the day-over-week growth)."""
        confident = self._scorer(self.ratio, self.threshold)
        heads_up = self._scorer(self.heads_up_ratio, self.heads_up_threshold)
        return features.select(
            probability=confident.strength(),
            probability_72h=heads_up.strength(),
            score=confident.growth(),
        )
