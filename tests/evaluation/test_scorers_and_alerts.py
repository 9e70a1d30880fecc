"""The fast alert feed equals the tick-by-tick engine; the z-score baseline by hand."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from services.evaluation.alerting import run_alerts, run_alerts_tick_by_tick
from services.evaluation.baselines import RollingZScoreScorer, viral_labels
from services.evaluation.evaluate import HeldOutError, evaluate, load_model, training_seeds
from shared.alerts import AlertRules
from shared.features import FEATURE_SCHEMA
from shared.scores import SCORE_SCHEMA

HOUR_MS = 3_600_000
TICK_MS = 300_000


def _frame(columns: dict[str, list], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    n = len(next(iter(columns.values())))
    defaults = {
        pl.String: "x",
        pl.Int32: 0,
        pl.Int64: 0,
        pl.Float64: 0.0,
    }
    data = {}
    for name, dtype in schema.items():
        if name in columns:
            data[name] = pl.Series(name, columns[name], dtype=dtype)
        elif isinstance(dtype, pl.List):
            data[name] = pl.Series(name, [[] for _ in range(n)], dtype=dtype)
        else:
            data[name] = pl.Series(name, [defaults[dtype.base_type()]] * n, dtype=dtype)
    return pl.DataFrame(data)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fast_alert_feed_equals_tick_by_tick(seed: int) -> None:
    rng = np.random.default_rng(seed)
    products, ticks = 30, 300
    # A random walk per product crosses the threshold and the re-arm level many times.
    walk = np.clip(0.5 + np.cumsum(rng.normal(0, 0.08, (products, ticks)), axis=1), 0, 1)
    scores = _frame(
        {
            "product_id": [f"p{p}" for p in range(products) for _ in range(ticks)],
            "tick_ms": [t * TICK_MS for _ in range(products) for t in range(ticks)],
            "probability": walk.ravel().tolist(),
            # Every other product without creators: its own level, held for two hours.
            "creators_24h": [float(p % 2) for p in range(products) for _ in range(ticks)],
        },
        SCORE_SCHEMA,
    ).sample(fraction=1.0, shuffle=True, seed=seed)
    rules = AlertRules(
        threshold=0.7,
        rearm_below=0.4,
        cooldown_ms=6 * HOUR_MS,
        without_creators_threshold=0.6,
        without_creators_rearm_below=0.45,
        without_creators_hold_ms=2 * HOUR_MS,
    )
    fast = run_alerts(scores, rules)
    assert fast.height > 20  # the walk does cross, so the comparison means something
    assert fast.equals(run_alerts_tick_by_tick(scores, rules))


def test_rolling_z_score_by_hand() -> None:
    hours = 30
    counts = [10.0] * 25 + [40.0] + [10.0] * (hours - 26)
    features = _frame(
        {
            "product_id": ["p"] * hours,
            "tick_ms": [h * HOUR_MS for h in range(1, hours + 1)],
            "events_1h": counts,
        },
        FEATURE_SCHEMA,
    )
    scores = RollingZScoreScorer(midpoint=3.0).score(features)
    z = dict(zip(scores["tick_ms"].to_list(), scores["score"].to_list(), strict=True))
    # The trailing hour ending at 26 h holds 40; the 24 hours before hold 10 each: std 0,
    # so the Poisson floor sqrt(10 + 1) is the spread.
    assert z[26 * HOUR_MS] == pytest.approx(30 / np.sqrt(11))
    assert z[10 * HOUR_MS] == 0.0  # fewer than 12 hours of history
    # Batches in tick order give the same scores as one call (the state carries over).
    scorer = RollingZScoreScorer(midpoint=3.0)
    parts = [scorer.score(features.slice(i, 5)) for i in range(0, hours, 5)]
    assert pl.concat(parts).sort("tick_ms")["score"].equals(scores.sort("tick_ms")["score"])


def test_labels_mark_the_early_window_only() -> None:
    truth = {
        "products": {
            "v": {
                "kind": "organic_viral",
                "episodes": [{"onset_ms": 48 * HOUR_MS, "peak_ms": 72 * HOUR_MS, "end_ms": 0}],
            },
            "b": {"kind": "bot_burst", "episodes": []},
        }
    }
    features = _frame(
        {
            "product_id": ["v", "v", "v", "v", "b"],
            "tick_ms": [h * HOUR_MS for h in (23, 24, 72, 73, 30)],
        },
        FEATURE_SCHEMA,
    )
    assert viral_labels(features, truth).tolist() == [0, 1, 1, 0, 0]


def test_a_model_trained_on_the_evaluation_seed_is_refused(tmp_path: Path) -> None:
    (tmp_path / "metadata.json").write_text(json.dumps({"training": {"seeds": [3, 4]}}))
    assert training_seeds(json.loads((tmp_path / "metadata.json").read_text())) == {3, 4}
    with pytest.raises(HeldOutError, match="training seed"):
        load_model(tmp_path, 4)
    with pytest.raises(HeldOutError, match="must differ"):
        evaluate("small", 5, tmp_path, tune_seed=5)


def test_rolling_z_score_counts_an_active_products_hours_without_a_row_as_zero() -> None:
    """Ingest leaves out an idle product's whole-hour row when its windows did not change,
    which means its trailing hour was empty: scores equal those with every hourly row."""
    event_hours = [h for h in range(2, 40, 3)] + [41, 70, 71, 72] + list(range(73, 100, 2))
    count = {h: 5.0 + (h % 7) for h in event_hours}
    count[80] = 60.0  # a rise after the product came back from a quiet day

    def active(h: int) -> bool:  # an event in the 24 h before the whole hour h
        return any(h - 24 < e <= h for e in event_hours)

    ticks, events_1h, events_5m = [], [], []
    for h in range(1, 101):
        if h in count:  # the tick counting the hour's event, 25 minutes before the hour
            ticks.append(h * HOUR_MS - 25 * 60_000)
            events_1h.append(count[h])
            events_5m.append(count[h])
        if active(h):
            ticks.append(h * HOUR_MS)
            events_1h.append(count.get(h, 0.0))
            events_5m.append(0.0)
    every = _frame(
        {
            "product_id": ["p"] * len(ticks),
            "tick_ms": ticks,
            "events_1h": events_1h,
            "events_5m": events_5m,
        },
        FEATURE_SCHEMA,
    )
    quiet = (pl.col("tick_ms") % HOUR_MS == 0) & (pl.col("events_1h") == 0)
    sparse = every.filter(~quiet)
    assert every.height - sparse.height > 30  # many hours without a row

    def scored(rows: pl.DataFrame, per: int) -> pl.DataFrame:
        scorer = RollingZScoreScorer(midpoint=3.0)
        return pl.concat(scorer.score(rows.slice(i, per)) for i in range(0, rows.height, per))

    want = scored(every, 7).join(sparse.select("tick_ms"), on="tick_ms")
    assert (want["score"] > 1).any()  # the rise is scored, so the comparison means something
    for per in (1, 7, sparse.height):
        got = scored(sparse, per)
        assert got["tick_ms"].equals(want["tick_ms"])
        # Rolling sums round differently with batch cuts (as with every row): 1e-15.
        np.testing.assert_allclose(got["score"], want["score"], rtol=1e-12, atol=1e-12)
