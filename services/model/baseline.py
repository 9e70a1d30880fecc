"""The growth-ratio baseline: a product's last 6 h against its own prior day.

Plain and explainable, it is the yardstick every learned model must beat, and the
scorer used until a trained model is promoted.
"""

from __future__ import annotations

import polars as pl

from shared.scores import SCORE_SCHEMA


class GrowthRatioScorer:
    """score = growth_6h_vs_24h; probability = g² / (g² + midpoint²), 0.5 at the midpoint."""

    version = "growth-ratio-1"

    def __init__(self, midpoint: float = 4.0) -> None:
        self.midpoint = midpoint

    def score(self, features: pl.DataFrame) -> pl.DataFrame:
        growth = pl.col("growth_6h_vs_24h")
        return features.with_columns(
            score=growth,
            probability=growth.pow(2) / (growth.pow(2) + self.midpoint**2),
            model_version=pl.lit(self.version),
            reasons=pl.lit([], dtype=SCORE_SCHEMA["reasons"]),
        ).select(SCORE_SCHEMA.keys())
