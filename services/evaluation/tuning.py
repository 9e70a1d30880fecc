"""Methods under evaluation and the tuning of their operating points on a training run.

A method is a scorer plus alert rules. Each baseline has one knob, swept over a grid on
the training run; the point with the best F1 of precision and recall before the peak
wins (ties: longer median lead). The evaluation run never takes part in tuning.

A full-size run does not fit in memory many times over, so a scorer reads only the
feature columns its method names, whole ticks at a time, and keeps of its output only
what the alert engine reads; knobs that share a scorer (thresholds) share its scores.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import polars as pl

from services.model.baseline import GrowthRatioScorer
from services.model.scorer import Scorer
from shared.alerts import AlertRules
from shared.features import FEATURE_SCHEMA
from shared.scores import SCORE_SCHEMA
from shared.settings import AlertSettings

from .alerting import run_alerts
from .baselines import (
    LOGISTIC_COLUMNS,
    LogisticScorer,
    RollingZScoreScorer,
    training_sample,
    viral_labels,
)
from .data import BATCH_ROWS, Run
from .matching import score_alerts

REARM_RATIO = AlertRules().baseline_rearm_below / AlertRules().baseline_threshold

GROWTH_MIDPOINTS = (1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 12.0, 16.0, 24.0)
Z_MIDPOINTS = (1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 14.0, 20.0, 30.0)
LOGISTIC_THRESHOLDS = (0.5, 0.7, 0.8, 0.9, 0.95, 0.97, 0.98, 0.99, 0.995, 0.998, 0.999)

KEYS = ("product_id", "tick_ms")
# What the alert engine reads of a score row (`AlertEngine.evaluate`, `make_alert`): the
# rows without creators may have a heads-up level of their own (`AlertRules`).
EVIDENCE_READ = ("creators_24h",)
ALERT_INPUTS = (*KEYS, "probability", "probability_72h", "score", "model_version", *EVIDENCE_READ)
# Feature columns a score row carries over; a scorer that does not read them gets nulls.
CARRIED = {c: t for c, t in SCORE_SCHEMA.items() if c in FEATURE_SCHEMA and c not in KEYS}


@dataclass(frozen=True)
class Knob:
    """One setting of a method: builds a fresh scorer and its alert rules."""

    name: str
    value: float
    make_scorer: Callable[[], Scorer]
    rules: AlertRules


@dataclass(frozen=True)
class Method:
    name: str
    label: str
    knobs: tuple[Knob, ...]  # the grid; a trained model has one knob (the live rules)
    columns: tuple[str, ...] | None = None  # feature columns its scorer reads; None: all


def rules_at(threshold: float) -> AlertRules:
    """One confident threshold for every row, a model's or a baseline's (a sweep of it)."""
    rearm = threshold * REARM_RATIO
    return AlertRules(
        threshold=threshold,
        rearm_below=rearm,
        without_creators_threshold=None,
        baseline_threshold=threshold,
        baseline_rearm_below=rearm,
    )


def growth_ratio_method() -> Method:
    knobs = tuple(
        Knob("midpoint", m, partial(GrowthRatioScorer, m), AlertRules()) for m in GROWTH_MIDPOINTS
    )
    return Method("growth_ratio", "growth ratio 6h/24h", knobs, GrowthRatioScorer().columns)


def rolling_z_method() -> Method:
    knobs = tuple(
        Knob("midpoint_sd", m, partial(RollingZScoreScorer, m), AlertRules()) for m in Z_MIDPOINTS
    )
    return Method("rolling_z", "rolling z-score (hourly)", knobs, ("events_1h", "events_5m"))


def logistic_method(train: Run) -> Method:
    """Fitted once on the training run; only its alert threshold is swept."""
    labels = viral_labels(train.columns(KEYS), train.truth)
    rows = training_sample(labels)
    fitted = LogisticScorer.fit(train.rows(rows, LOGISTIC_COLUMNS), labels[rows])
    knobs = tuple(Knob("threshold", t, lambda: fitted, rules_at(t)) for t in LOGISTIC_THRESHOLDS)
    return Method("logistic", "logistic regression", knobs, tuple(LOGISTIC_COLUMNS))


def model_method(scorer: Scorer, version: str, rules: AlertRules | None = None) -> Method:
    """A registered model runs at the live alert rules (`PANTAU_ALERT_*` unless given):
    what sellers would get from the API deployed with the same settings."""
    rules = rules or AlertRules.from_settings(AlertSettings())
    return Method(
        "model", f"model {version}", (Knob("threshold", rules.threshold, lambda: scorer, rules),)
    )


def score_run(
    scorer: Scorer, run: Run, columns: tuple[str, ...] | None, batch_rows: int = BATCH_ROWS
) -> pl.DataFrame:
    """`scorer` over a whole run, fed whole ticks in tick order as live; alert inputs only."""
    names = list(FEATURE_SCHEMA) if columns is None else [*KEYS, *columns]
    names += [c for c in EVIDENCE_READ if c not in names]
    missing = [pl.lit(None, t).alias(c) for c, t in CARRIED.items() if c not in names]
    parts = [
        scorer.score(batch.with_columns(missing)).select(ALERT_INPUTS)
        for batch in run.batches(names, batch_rows)
    ]
    return pl.concat(parts)


def sweep(method: Method, run: Run) -> list[dict[str, Any]]:
    """Every knob of the grid on `run`: its `alerts` and metrics (`score_alerts`)."""
    results = []
    scorer: Scorer | None = None
    scores: pl.DataFrame | None = None
    for knob in method.knobs:
        fresh = knob.make_scorer()
        if fresh is not scorer:  # a new scorer: the previous one's scores can go
            scores = None
            scorer, scores = fresh, score_run(fresh, run, method.columns)
        assert scores is not None
        alerts = run_alerts(scores, knob.rules)
        results.append({"knob": knob, "alerts": alerts, **score_tiers(alerts, run.truth)})
    return results


def score_tiers(alerts: pl.DataFrame, truth: dict[str, Any]) -> dict[str, Any]:
    """`score_alerts` of the confident tier (`overall`, `per_decoy_kind`), and `per_tier`
    when a heads-up fired: the heads-up tier alone, and the earliest alert of either tier
    (what a seller subscribed to both gets first)."""
    confident = score_alerts(alerts.filter(pl.col("tier") == "confident"), truth)
    heads_up = alerts.filter(pl.col("tier") == "heads_up")
    if heads_up.height == 0:
        return confident
    per_tier = {
        "heads_up": score_alerts(heads_up, truth)["overall"],
        "either": score_alerts(alerts, truth)["overall"],
    }
    return {**confident, "per_tier": per_tier}


def sweep_points(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The overall metrics at every knob of a sweep (with the knob's value), for the report."""
    return [
        {
            "knob": r["knob"].name,
            "value": r["knob"].value,
            **r["overall"],
            **({"per_tier": r["per_tier"]} if "per_tier" in r else {}),
        }
        for r in results
    ]


def _objective(point: dict[str, Any]) -> tuple[float, float]:
    p, r = point["precision"] or 0.0, point["recall"] or 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return f1, point["lead_h_median"] or 0.0


def best_knob(points: list[dict[str, Any]]) -> int:
    """The index of the best point of a training sweep."""
    return max(range(len(points)), key=lambda i: _objective(points[i]))
