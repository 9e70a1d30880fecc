"""The trained scorer: LightGBM margins, isotonic calibration, reasons for likely alerts.

Scoring is vectorised end to end (one matrix, one `predict`, one `np.interp`); only rows
at or above `explain_threshold` get contributions (`pred_contrib`) and phrases, so the
per-row Python is bounded by the number of likely alerts, not by the batch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import polars as pl

from services.model.calibration import Isotonic
from services.model.inputs import add_derived, matrix
from services.model.phrases import reasons
from shared.scores import SCORE_SCHEMA

REASONS = SCORE_SCHEMA["reasons"]
OUTPUTS = {"probability", "score", "model_version", "reasons"}
EXPLAIN_THRESHOLD = 0.7  # the live alert threshold (services.api.alerts.AlertRules)


class LightGBMScorer:
    """A registered model version ready to score feature rows (shared.features schema)."""

    def __init__(
        self,
        version: str,
        booster: lgb.Booster,
        columns: list[str],
        calibration: Isotonic,
        created_s: float = 0.0,
        explain_threshold: float = EXPLAIN_THRESHOLD,
        num_threads: int = 1,
    ) -> None:
        self.version, self.booster, self.columns = version, booster, columns
        self.calibration, self.created_s = calibration, created_s
        self.explain_threshold, self.num_threads = explain_threshold, num_threads

    @classmethod
    def load(cls, directory: Path, metadata: dict[str, Any], **kwargs: Any) -> LightGBMScorer:
        booster = lgb.Booster(model_file=str(directory / "model.txt"))
        return cls(
            metadata["version"],
            booster,
            list(metadata["features"]),
            Isotonic.from_dict(metadata["calibration"]),
            float(metadata.get("created_s", 0.0)),
            **kwargs,
        )

    def margin(self, features: pl.DataFrame) -> np.ndarray:
        x = matrix(features, self.columns)
        if not len(x):
            return np.empty(0)
        return np.asarray(
            self.booster.predict(x, raw_score=True, num_threads=self.num_threads), float
        )

    def probability(self, features: pl.DataFrame) -> np.ndarray:
        return self.calibration(self.margin(features))

    def score(self, features: pl.DataFrame, explain: bool = True) -> pl.DataFrame:
        margin = self.margin(features)
        prob = self.calibration(margin)
        missing = [
            pl.lit(None, t).alias(c)
            for c, t in SCORE_SCHEMA.items()
            if c not in features and c not in OUTPUTS
        ]
        scored = features.with_columns(
            *missing,
            probability=pl.Series(prob, dtype=pl.Float64),
            score=pl.Series(1.0 / (1.0 + np.exp(-margin)), dtype=pl.Float64),
            model_version=pl.lit(self.version),
            reasons=pl.lit([], dtype=REASONS),
        )
        hot = np.flatnonzero(prob >= self.explain_threshold) if explain else np.empty(0, int)
        if hot.size:
            why = self.explain(features[hot])
            scored = (
                scored.with_row_index("_row")
                .join(
                    pl.DataFrame({"_row": pl.Series(hot, dtype=pl.UInt32), "_why": why}),
                    on="_row",
                    how="left",
                )
                .with_columns(reasons=pl.coalesce("_why", "reasons"))
            )
        return scored.select(SCORE_SCHEMA.keys())

    def explain(self, rows: pl.DataFrame) -> pl.Series:
        """Each row's top contributions (LightGBM `pred_contrib`) in words."""
        rows = add_derived(rows)
        contrib = self.booster.predict(
            matrix(rows, self.columns), pred_contrib=True, num_threads=self.num_threads
        )
        why = [
            reasons(self.columns, c[:-1].tolist(), values)
            for c, values in zip(contrib, rows.iter_rows(named=True), strict=True)
        ]
        return pl.Series("_why", why, dtype=REASONS)
