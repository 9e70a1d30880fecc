"""Episodes, early catches and lead times on hand-built alerts and truth (numbers by hand)."""

from __future__ import annotations

import polars as pl
import pytest

from services.evaluation.matching import (
    DAY_MS,
    HOUR_MS,
    alert_episodes,
    classify_episodes,
    pooled,
    score_alerts,
    viral_episodes,
)


def _ep(onset_h: int, peak_h: int, end_h: int) -> dict[str, int]:
    return {"onset_ms": onset_h * HOUR_MS, "peak_ms": peak_h * HOUR_MS, "end_ms": end_h * HOUR_MS}


TRUTH = {
    "start_ms": 0,
    "end_ms": 10 * DAY_MS,
    "products": {
        "v1": {"kind": "organic_viral", "episodes": [_ep(72, 120, 168)]},
        "v2": {"kind": "organic_viral", "episodes": [_ep(48, 96, 144)]},
        "v3": {"kind": "organic_viral", "episodes": [_ep(120, 144, 192)]},
        "b1": {"kind": "bot_burst", "episodes": [_ep(90, 100, 120)]},
        "bg1": {"kind": "background", "episodes": []},
        "bg2": {"kind": "background", "episodes": []},
    },
}

ALERTS_H = {
    "v1": [48, 60, 90, 130],  # [48, 60] early at onset - 24 h; [90] early; [130] after the peak
    "v2": [10],  # before onset - 24 h: false
    "v3": [144],  # exactly at the peak: early, lead 0
    "b1": [100, 110],  # one false episode
    "bg1": [200],  # false
}
# v1's episode ended at 168 h: an alert on its tail after that is false, not late.
TAIL_H = {"v1": [48, 200]}


def _alerts(hours: dict[str, list[int]]) -> pl.DataFrame:
    rows = [(pid, h * HOUR_MS) for pid, hs in hours.items() for h in hs]
    return pl.DataFrame(rows, schema={"product_id": pl.String, "tick_ms": pl.Int64}, orient="row")


def test_alerts_less_than_a_day_apart_chain_into_one_episode() -> None:
    eps = alert_episodes(_alerts({"p": [0, 23, 46, 70, 93, 200]})).sort("start_ms")
    assert eps.select("start_ms", "end_ms", "alerts").rows() == [
        (0, 46 * HOUR_MS, 3),  # 23 h steps chain; 24 h (46 -> 70) splits
        (70 * HOUR_MS, 93 * HOUR_MS, 2),
        (200 * HOUR_MS, 200 * HOUR_MS, 1),
    ]


def test_episodes_are_classified_early_late_or_false() -> None:
    classified = classify_episodes(alert_episodes(_alerts(ALERTS_H)), viral_episodes(TRUTH))
    outcomes = {
        (r["product_id"], r["start_ms"] // HOUR_MS): r["outcome"]
        for r in classified.iter_rows(named=True)
    }
    assert outcomes == {
        ("v1", 48): "early",
        ("v1", 90): "early",
        ("v1", 130): "late",
        ("v2", 10): "false",
        ("v3", 144): "early",
        ("b1", 100): "false",
        ("bg1", 200): "false",
    }


def test_an_alert_after_the_episode_ended_is_false() -> None:
    classified = classify_episodes(alert_episodes(_alerts(TAIL_H)), viral_episodes(TRUTH))
    assert classified.sort("start_ms")["outcome"].to_list() == ["early", "false"]


def test_scenario_metrics() -> None:
    o = score_alerts(_alerts(ALERTS_H), TRUTH)["overall"]
    assert (o["alert_episodes"], o["early"], o["late"], o["false"]) == (7, 3, 1, 3)
    assert o["precision"] == pytest.approx(3 / 7)
    assert o["precision_not_false"] == pytest.approx((3 + 1) / 7)  # the late one is not false
    assert (o["viral_episodes"], o["caught_early"]) == (3, 2)
    assert o["recall"] == pytest.approx(2 / 3)
    # Leads: v1 = 120 - 48 = 72 h (the earliest early start), v3 = 0 h.
    assert o["lead_h_median"] == pytest.approx(36.0)
    assert o["lead_h_p25"] == pytest.approx(18.0)  # linear interpolation between 0 and 72
    assert o["product_days"] == pytest.approx(60.0)
    assert o["false_per_1000_product_days"] == pytest.approx(50.0)


def test_per_decoy_kind() -> None:
    kinds = score_alerts(_alerts(ALERTS_H), TRUTH)["per_decoy_kind"]
    assert kinds["bot_burst"] == {
        "products": 1,
        "alert_episodes": 1,
        "precision_vs_viral": pytest.approx(3 / 6),
        "false_per_1000_product_days": pytest.approx(100.0),
    }
    assert kinds["background"]["precision_vs_viral"] == pytest.approx(3 / 6)
    assert kinds["background"]["false_per_1000_product_days"] == pytest.approx(50.0)
    assert kinds["exogenous_spike"]["products"] == 0
    assert kinds["exogenous_spike"]["precision_vs_viral"] == pytest.approx(3 / 5)
    assert kinds["exogenous_spike"]["false_per_1000_product_days"] is None


def test_no_alerts_gives_no_precision_and_zero_recall() -> None:
    o = score_alerts(_alerts({}), TRUTH)["overall"]
    assert o["alert_episodes"] == 0 and o["precision"] is None
    assert o["recall"] == 0 and o["lead_h_median"] is None
    assert o["false_per_1000_product_days"] == 0


def test_pooled_runs_count_every_runs_episodes_and_days() -> None:
    # The same products in a second run whose only alert is v3's, at the peak: pooled, the
    # counts add up and the leads of both runs make one distribution.
    alerts, truth = pooled([(_alerts(ALERTS_H), TRUTH), (_alerts({"v3": [120]}), TRUTH)])
    o = score_alerts(alerts, truth)["overall"]
    assert (o["alert_episodes"], o["early"], o["false"]) == (8, 4, 3)
    assert (o["viral_episodes"], o["caught_early"]) == (6, 3)
    assert o["lead_h_median"] == pytest.approx(24.0)  # leads 72, 0 and 24 h
    assert o["product_days"] == pytest.approx(120.0)
    assert o["false_per_1000_product_days"] == pytest.approx(25.0)


def test_runs_of_different_spans_are_not_pooled() -> None:
    longer = {**TRUTH, "end_ms": 11 * DAY_MS}
    with pytest.raises(ValueError, match="same time"):
        pooled([(_alerts({}), TRUTH), (_alerts({}), longer)])
