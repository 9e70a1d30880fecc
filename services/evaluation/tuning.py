"""Methods under evaluation and the tuning of their operating points on a training run.

A method is a scorer plus alert rules. Each baseline has one knob, swept over a grid on
the training run; the point with the best F1 of precision and recall before the peak
wins (ties: longer median lead). The evaluation run never takes part in tuning.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import polars as pl

from services.api.alerts import AlertRules
from services.model.baseline import GrowthRatioScorer
from services.model.scorer import Scorer

from .alerting import run_alerts
from .baselines import LogisticScorer, RollingZScoreScorer
from .matching import score_alerts

REARM_RATIO = AlertRules().rearm_below / AlertRules().threshold

GROWTH_MIDPOINTS = (1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 12.0, 16.0, 24.0)
Z_MIDPOINTS = (1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 14.0, 20.0, 30.0)
LOGISTIC_THRESHOLDS = (0.5, 0.7, 0.8, 0.9, 0.95, 0.97, 0.98, 0.99, 0.995, 0.998, 0.999)


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


def _rules_at(threshold: float) -> AlertRules:
    return AlertRules(threshold=threshold, rearm_below=threshold * REARM_RATIO)


def growth_ratio_method() -> Method:
    knobs = tuple(
        Knob("midpoint", m, lambda m=m: GrowthRatioScorer(m), AlertRules())
        for m in GROWTH_MIDPOINTS
    )
    return Method("growth_ratio", "growth ratio 6h/24h", knobs)


def rolling_z_method() -> Method:
    knobs = tuple(
        Knob("midpoint_sd", m, lambda m=m: RollingZScoreScorer(m), AlertRules())
        for m in Z_MIDPOINTS
    )
    return Method("rolling_z", "rolling z-score (hourly)", knobs)


def logistic_method(train: pl.DataFrame, truth: dict[str, Any]) -> Method:
    """Fitted once on the training run; only its alert threshold is swept."""
    fitted = LogisticScorer.fit(train, truth)
    knobs = tuple(Knob("threshold", t, lambda: fitted, _rules_at(t)) for t in LOGISTIC_THRESHOLDS)
    return Method("logistic", "logistic regression", knobs)


def model_method(scorer: Scorer, version: str) -> Method:
    """A registered model runs at the live alert rules: what sellers would get."""
    return Method(
        "model", f"model {version}", (Knob("threshold", 0.7, lambda: scorer, AlertRules()),)
    )


def evaluate_knob(knob: Knob, features: pl.DataFrame, truth: dict[str, Any]) -> dict[str, Any]:
    """Score a run with one setting, raise alerts with the live engine, match to truth."""
    scores = knob.make_scorer().score(features)
    alerts = run_alerts(scores, knob.rules)
    return {"alerts": alerts, **score_alerts(alerts, truth)}


def sweep(method: Method, features: pl.DataFrame, truth: dict[str, Any]) -> list[dict[str, Any]]:
    """The overall metrics at every knob of the grid (with the knob's value)."""
    points = []
    # Knobs sharing one scorer object score once (the scorer is kept so its id stays unique).
    scored: dict[int, tuple[Scorer, pl.DataFrame]] = {}
    for knob in method.knobs:
        scorer = knob.make_scorer()
        if id(scorer) not in scored:
            scored[id(scorer)] = (scorer, scorer.score(features))
        alerts = run_alerts(scored[id(scorer)][1], knob.rules)
        overall = score_alerts(alerts, truth)["overall"]
        points.append({"knob": knob.name, "value": knob.value, **overall})
    return points


def _objective(point: dict[str, Any]) -> tuple[float, float]:
    p, r = point["precision"] or 0.0, point["recall"] or 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return f1, point["lead_h_median"] or 0.0


def tune(method: Method, train: pl.DataFrame, truth: dict[str, Any]) -> tuple[Knob, list]:
    """The best knob on the training run, and the whole training sweep."""
    points = sweep(method, train, truth)
    best = max(range(len(points)), key=lambda i: _objective(points[i]))
    return method.knobs[best], points
