"""Score rows of a whole run through the live alert engine, fast enough to sweep thresholds.

The engine keeps per-product state and reads each batch against the state at the batch's
start, so a whole run cannot go in as one batch. Feeding it tick by tick is exact but
slow; instead only the rows that can change its state are fed: per product, with rows
between `rearm_below` and `threshold` ignored (the engine ignores them too), the first row
at or above the threshold after each re-arm and the first row below `rearm_below` after
it. Everything else is a no-op for the engine (an already disarmed product, or a product
that is armed already). Round k feeds each product's k-th such row, so every product sees
its rows in tick order, one per call, exactly as in the live tick-by-tick run.
"""

from __future__ import annotations

import polars as pl

from services.api.alerts import AlertEngine, AlertRules

ALERT_COLUMNS = {"product_id": pl.String, "tick_ms": pl.Int64, "probability": pl.Float64}


def state_changing_rows(scores: pl.DataFrame, rules: AlertRules) -> pl.DataFrame:
    """The rows that can change the engine's state, with `round` (per-product order)."""
    level = (
        pl.when(pl.col("probability") >= rules.threshold)
        .then(1)
        .when(pl.col("probability") < rules.rearm_below)
        .then(0)
        .otherwise(None)
    )
    # Rows come in tick order (a stable sort by tick alone is nearly free then), and
    # `over` keeps that order within each product: no sort by product over the whole run.
    marked = (
        scores.sort("tick_ms", maintain_order=True)
        .with_columns(level=level)
        .drop_nulls("level")
        .with_columns(prev=pl.col("level").shift(1).over("product_id").fill_null(0))
    )
    return (
        marked.filter(pl.col("level") != pl.col("prev"))
        .with_columns(round=pl.int_range(pl.len()).over("product_id"))
        .drop("level", "prev")
    )


def run_alerts(scores: pl.DataFrame, rules: AlertRules) -> pl.DataFrame:
    """(product_id, tick_ms, probability) of every alert the live engine raises on `scores`."""
    engine = AlertEngine(rules)
    rows = state_changing_rows(scores, rules)
    alerts: list[dict[str, object]] = []
    batches = rows.partition_by("round", as_dict=True)
    for key in sorted(batches):
        alerts.extend(engine.evaluate(batches[key].drop("round")))
    if not alerts:
        return pl.DataFrame(schema=ALERT_COLUMNS)
    return pl.DataFrame(
        [{k: a[k] for k in ALERT_COLUMNS} for a in alerts], schema=ALERT_COLUMNS
    ).sort("tick_ms", "product_id")


def run_alerts_tick_by_tick(scores: pl.DataFrame, rules: AlertRules) -> pl.DataFrame:
    """The reference: one engine call per tick, as the live pipeline makes them."""
    engine = AlertEngine(rules)
    alerts: list[dict[str, object]] = []
    for _, batch in scores.sort("tick_ms").group_by("tick_ms", maintain_order=True):
        alerts.extend(engine.evaluate(batch))
    if not alerts:
        return pl.DataFrame(schema=ALERT_COLUMNS)
    return pl.DataFrame(
        [{k: a[k] for k in ALERT_COLUMNS} for a in alerts], schema=ALERT_COLUMNS
    ).sort("tick_ms", "product_id")
