"""The retraining decision core: the recent window held out, both models scored on it, and
promote / keep / refuse by the rule."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from services.model.promotion import (
    Outcome,
    PromotionRule,
    decide,
    window_refusal,
    window_scores,
    window_summary,
)
from services.model.split import hold_out_recent
from shared.metrics import RETRAIN_OUTCOMES

HOUR_MS = 3_600_000
RULE = PromotionRule(margin_ap=0.01, max_log_loss_rise=0.05, min_viral_products=3)


def window(n_products: int = 40, viral: int = 6, ticks: int = 48, seed: int = 0):
    """Hourly rows; the first `viral` products are labelled 1 for 6 h; a good model's
    probabilities (high on those rows) and a random one's."""
    rng = np.random.default_rng(seed)
    product = np.repeat([f"p{i}" for i in range(n_products)], ticks)
    tick = np.tile(np.arange(ticks) * HOUR_MS, n_products)
    label = (np.repeat(np.arange(n_products), ticks) < viral) & (tick >= 20 * HOUR_MS)
    label &= tick < 26 * HOUR_MS
    rows = pl.DataFrame({"product_id": product, "tick_ms": tick, "label": label.astype(np.int8)})
    good = np.clip(0.02 + 0.7 * label + rng.normal(0, 0.05, label.size), 0.001, 0.999)
    noise = rng.uniform(0.0, 0.3, label.size)
    return rows, good, noise


def scored(rows: pl.DataFrame, prob: np.ndarray):
    return window_scores(rows, prob, threshold=0.5)


def test_a_better_candidate_is_promoted_and_a_worse_one_kept() -> None:
    rows, good, noise = window()
    summary = window_summary(rows)
    assert summary["viral_products"] == 6 and summary["positive_rows"] == 36
    better = decide(summary, scored(rows, good), scored(rows, noise), RULE)
    assert better.outcome is Outcome.PROMOTED, better.reason
    worse = decide(summary, scored(rows, noise), scored(rows, good), RULE)
    assert worse.outcome is Outcome.KEPT and "does not beat" in worse.reason


def test_an_equal_candidate_is_kept_by_the_margin() -> None:
    rows, good, _ = window()
    same = decide(window_summary(rows), scored(rows, good), scored(rows, good), RULE)
    assert same.outcome is Outcome.KEPT and "margin 0.01" in same.reason
    no_margin = PromotionRule(margin_ap=0.0, min_viral_products=3)
    tie = decide(window_summary(rows), scored(rows, good), scored(rows, good), no_margin)
    assert tie.outcome is Outcome.PROMOTED


def test_a_better_ranking_with_worse_calibration_is_kept() -> None:
    rows, good, noise = window()
    overconfident = np.where(good > 0.5, 0.999, 0.4)  # ranks as well, alerts on every row
    decision = decide(window_summary(rows), scored(rows, overconfident), scored(rows, noise), RULE)
    assert decision.outcome is Outcome.KEPT and "log loss" in decision.reason


def test_against_an_uncalibrated_baseline_only_the_ranking_counts() -> None:
    rows, good, noise = window()
    overconfident = np.where(good > 0.5, 0.999, 0.4)
    baseline = {**scored(rows, noise), "calibrated": False}
    decision = decide(window_summary(rows), scored(rows, overconfident), baseline, RULE)
    assert decision.outcome is Outcome.PROMOTED, decision.reason


@pytest.mark.parametrize("viral", [0, 2])
def test_a_window_with_too_few_viral_products_refuses(viral: int) -> None:
    rows, good, noise = window(viral=viral)
    summary = window_summary(rows)
    refused = window_refusal(summary, RULE)
    assert refused is not None and refused.outcome is Outcome.REFUSED
    assert f"{viral} viral products" in refused.reason
    assert decide(summary, scored(rows, good), scored(rows, noise), RULE) == refused


def test_nothing_scoring_yet_promotes_on_a_fair_window() -> None:
    rows, good, _ = window()
    assert decide(window_summary(rows), scored(rows, good), None, RULE).outcome is (
        Outcome.PROMOTED
    )
    assert window_refusal(window_summary(rows.clear()), RULE) is not None


def test_product_precision_and_recall_at_the_threshold() -> None:
    rows, good, _ = window()
    # p0 flagged while viral; p10 flagged though never viral; p1..p5 never flagged.
    prob = np.where((rows["product_id"] == "p0") & (rows["label"] == 1), 0.9, 0.1)
    prob = np.where(rows["product_id"] == "p10", 0.9, prob)
    s = scored(rows, prob)
    assert s["flagged_products"] == 2
    assert s["product_precision"] == pytest.approx(0.5)
    assert s["product_recall"] == pytest.approx(1 / 6)
    assert scored(rows, good)["product_recall"] == 1.0


def test_the_held_out_window_is_never_trained_on() -> None:
    """Training rows keep a label only when its look-ahead ends before the window; rows
    whose outcome is not known are in neither part."""
    ticks = np.arange(0, 200) * HOUR_MS
    rows = pl.DataFrame(
        {
            "product_id": ["p"] * ticks.size,
            "tick_ms": ticks,
            "label": pl.Series([0] * 150 + [None] * 50, dtype=pl.Int8),
            "label_heads_up": pl.Series([1] * 100 + [None] * 100, dtype=pl.Int8),
        }
    )
    look = {"label": 48 * HOUR_MS, "label_heads_up": 96 * HOUR_MS}
    train, recent = hold_out_recent(rows, 24 * HOUR_MS, look)
    start = 126 * HOUR_MS  # the last labelled tick is 149 h
    assert recent["tick_ms"].to_list() == list(range(start, 150 * HOUR_MS, HOUR_MS))
    assert train["tick_ms"].max() + look["label"] < start
    assert train["tick_ms"].max() == start - look["label"] - HOUR_MS
    known = train.filter(pl.col("label_heads_up").is_not_null())
    assert known["tick_ms"].max() + look["label_heads_up"] < start
    assert known["tick_ms"].max() == start - look["label_heads_up"] - HOUR_MS


def test_outcomes_match_the_metric_labels() -> None:
    assert tuple(o.value for o in Outcome) == RETRAIN_OUTCOMES
