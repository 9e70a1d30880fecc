"""The score record: what the scorer publishes on `pantau.scores` and the API stores."""

from __future__ import annotations

import polars as pl

# The calibrated probability at which a product alerts, and at or above which a score
# row carries reasons: one number for the alert engine, the scorer and their settings.
# Rows without creators (views-only counters, where a bot burst looks like a rise) have a
# level of their own, which they must hold for hours before they alert. All chosen on the
# tuning months `standard` seeds 203, 6, 7, 16-20 and 23 for the shipped default
# (docs/model.md, "Two confident levels" and "Rows without creators hold their level").
ALERT_THRESHOLD = 0.4
REARM_BELOW = 0.29
WITHOUT_CREATORS_THRESHOLD = 0.35
WITHOUT_CREATORS_REARM_BELOW = 0.25
WITHOUT_CREATORS_HOLD_MS = 7 * 3_600_000
# A baseline's growth strength is not a probability: it alerts at a level of its own, set
# where its growth ratio is reached (`services.model.baseline.midpoint_for`).
BASELINE_THRESHOLD = 0.56
BASELINE_REARM_BELOW = 0.4
# The heads-up tier's: on the 72 h probability, re-armed below the second number.
# Chosen on the tuning months `standard` seeds 203, 6 and 7 for the shipped default, with
# a level of its own for rows without creators (docs/model.md, "The heads-up lead").
HEADS_UP_THRESHOLD = 0.5
HEADS_UP_REARM_BELOW = 0.33
HEADS_UP_WITHOUT_CREATORS_THRESHOLD = 0.35
HEADS_UP_WITHOUT_CREATORS_REARM_BELOW = 0.23

# Scorers whose `probability` is not a calibrated probability (the growth-ratio baselines
# that run while no model is promoted) name their versions with this prefix; the page
# then shows a growth ranking instead of a chance.
UNCALIBRATED_PREFIX = "baseline-"


def is_calibrated(model_version: str | None) -> bool:
    """Whether a score row's `probability` is a calibrated probability."""
    return not (model_version or "").startswith(UNCALIBRATED_PREFIX)


# What such a row says instead of a chance: its growth ratio (the row's `score`), in the
# words the seller page, the seller messages and the alert records all use.
GROWTH_WORDS = {
    "id": "naik {g}× dibanding hari biasa minggu lalu",
    "en": "up {g}× on a usual day last week",
}


def growth_phrase(growth: float, lang: str) -> str:
    """'naik 5,1× dibanding hari biasa minggu lalu' (Indonesian decimal comma) or English."""
    g = f"{growth:,.1f}"
    if lang == "id":
        g = g.translate(str.maketrans(",.", ".,"))
    return GROWTH_WORDS["id" if lang == "id" else "en"].format(g=g)


REASON = pl.Struct({"feature": pl.String, "text_id": pl.String, "text_en": pl.String})

SCORE_SCHEMA: dict[str, pl.DataType] = {
    "product_id": pl.String(),
    "partition": pl.Int32(),
    "tick_ms": pl.Int64(),
    "watermark_ms": pl.Int64(),
    "category": pl.String(),
    "product_name": pl.String(),
    "top_regions": pl.List(pl.String),
    "platforms": pl.List(pl.String),
    "probability": pl.Float64(),
    # The calibrated probability of going viral within 72 h (the heads-up tier); null from
    # a scorer without that horizon (the growth-ratio baselines, older models).
    "probability_72h": pl.Float64(),
    "score": pl.Float64(),
    "model_version": pl.String(),
    "reasons": pl.List(REASON),
    # A few raw figures so the API can show evidence without the feature topic.
    "events_1h": pl.Float64(),
    "events_24h": pl.Float64(),
    "growth_6h_vs_24h": pl.Float64(),
    "creators_24h": pl.Float64(),
    "regions_24h": pl.Float64(),
    "price_idr": pl.Float64(),  # typical price (shared.features); null when unknown
}
EVIDENCE_COLUMNS = [
    "events_1h",
    "events_24h",
    "growth_6h_vs_24h",
    "creators_24h",
    "regions_24h",
    "price_idr",
]
