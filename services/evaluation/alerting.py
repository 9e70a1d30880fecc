"""Score rows of a whole run through the live alert engine, fast enough to sweep thresholds.

The engine evaluates each product's rows in tick order within a batch, and feeds only the
rows that can change a product's state through its per-row step, so a whole run goes in
as one batch and gives the alerts of the live tick-by-tick run.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from shared.alerts import AlertEngine, AlertRules

ALERT_COLUMNS = {
    "product_id": pl.String,
    "tick_ms": pl.Int64,
    "probability": pl.Float64,
    "tier": pl.String,
}


def run_alerts(scores: pl.DataFrame, rules: AlertRules) -> pl.DataFrame:
    """(product_id, tick_ms, probability, tier) of every alert the live engine raises."""
    return _alert_frame(AlertEngine(rules).evaluate(scores))


def run_alerts_tick_by_tick(scores: pl.DataFrame, rules: AlertRules) -> pl.DataFrame:
    """The reference: one engine call per tick, as the live pipeline makes them."""
    engine = AlertEngine(rules)
    alerts: list[dict[str, Any]] = []
    for _, batch in scores.sort("tick_ms").group_by("tick_ms", maintain_order=True):
        alerts.extend(engine.evaluate(batch))
    return _alert_frame(alerts)


def _alert_frame(alerts: list[dict[str, Any]]) -> pl.DataFrame:
    if not alerts:
        return pl.DataFrame(schema=ALERT_COLUMNS)
    return pl.DataFrame(
        [{k: a[k] for k in ALERT_COLUMNS} for a in alerts], schema=ALERT_COLUMNS
    ).sort("tick_ms", "product_id")
