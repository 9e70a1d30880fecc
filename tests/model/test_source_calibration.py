"""Kinds of source: each row's kind from its own windows, a calibration per kind where
training had enough of its positives, and the ratio fallback for the kinds it names."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from services.model import registry
from services.model.baseline import growth_ratio
from services.model.calibration import Isotonic, by_source
from services.model.sources import RatioFallback, source_kinds
from services.model.train import TrainConfig, labelled, train_rows
from shared.alerts import AlertEngine, AlertRules
from shared.scores import is_calibrated
from shared.settings import AlertSettings


def _kinds_of(rows: pl.DataFrame) -> pl.DataFrame:
    """Three copies of `rows`: a daily counter, an hourly (views-only) counter, as is."""
    windows = ("_7d", "_24h", "_6h", "_1h", "_5m")
    quiet = dict.fromkeys([c for c in rows.columns if c.endswith(windows)], 0.0)
    views = {"view_7d": 7_000.0, "events_7d": 7_000.0}
    # The day's one event came in the last 6 h, not in the last hour.
    daily = views | {f"{a}_{w}": 1_000.0 for a in ("view", "events") for w in ("24h", "6h")}
    hourly = views | {f"{a}_24h": 1_000.0 for a in ("view", "events")}
    hourly |= {f"{a}_6h": 300.0 for a in ("view", "events")}
    hourly |= {f"{a}_1h": 50.0 for a in ("view", "events")}
    return pl.concat(
        [
            rows.with_columns(**{c: pl.lit(v) for c, v in (quiet | daily).items()}),
            rows.with_columns(**{c: pl.lit(v) for c, v in (quiet | hourly).items()}),
            rows,
        ]
    )


@pytest.fixture(scope="module")
def rows(trained) -> pl.DataFrame:
    busy = trained.features.filter(
        (pl.col("hours_since_first_seen") > 72) & (pl.col("creators_24h") > 0)
    )
    return _kinds_of(busy.head(50))


def test_each_row_knows_its_kind_of_source(rows) -> None:
    kinds = source_kinds(rows).reshape(3, -1)
    assert (kinds[0] == "daily_counter").all()
    assert (kinds[1] == "views_only").all()
    assert (kinds[2] == "events").all()


def test_a_kind_with_its_own_calibration_is_scored_by_it(trained, rows) -> None:
    scorer = registry.load_version(trained.good, compile=False)
    scorer.fallback = None
    before = scorer.score(rows)["probability"].to_numpy().reshape(3, -1)
    scorer.by_source = {"views_only": Isotonic(np.array([-50.0, 50.0]), np.array([0.9, 0.9]))}
    after = scorer.score(rows)["probability"].to_numpy().reshape(3, -1)
    assert np.allclose(after[1], 0.9) and not np.allclose(before[1], 0.9)
    assert np.array_equal(after[[0, 2]], before[[0, 2]])
    assert np.allclose(scorer.probability(rows), after.ravel())


def test_training_calibrates_each_kind_with_enough_positives(trained, tmp_path) -> None:
    cfg = TrainConfig(
        calibrate_per_source=True, min_source_positives=1, heads_up=None, num_boost_round=20
    )
    rows = labelled(trained.features, "small-3", cfg)
    version = train_rows(rows, tmp_path, {"kind": "test"}, [3], cfg, progress=False)
    meta = registry.read_metadata(version)
    own = meta["calibration_by_source"]
    assert "events" in own  # small runs: per-action products have positives in validation
    assert set(meta["metrics"]["test_by_source"]) <= {"daily_counter", "views_only", "events"}
    scorer = registry.load_version(version, compile=False)
    scorer.fallback = None
    test = pl.read_parquet(version / "test.parquet")
    expected = by_source(
        scorer.margin(test),
        source_kinds(test),
        scorer.calibration,
        {k: Isotonic.from_dict(c) for k, c in own.items()},
    )
    assert np.allclose(scorer.score(test)["probability"].to_numpy(), expected)
    # Without the setting, no kind has its own (the shipped behaviour until chosen).
    plain = registry.read_metadata(trained.good)
    assert not plain.get("calibration_by_source")


def test_the_fallback_scores_the_kinds_it_names(rows) -> None:
    kinds = source_kinds(rows)
    assert np.array_equal(RatioFallback().rows(rows), kinds == "daily_counter")
    hourly = RatioFallback(kinds=("views_only",))
    assert np.array_equal(hourly.rows(rows), kinds == "views_only")
    # Versions stored before kinds existed name none: they meant daily counters.
    old = {"ratio": 5.0, "heads_up_ratio": 3.0, "source": "daily view counters"}
    assert RatioFallback.from_dict(old).kinds == ("daily_counter",)
    assert RatioFallback.from_dict(hourly.as_dict()).kinds == ("views_only",)
    with pytest.raises(ValueError, match="unknown source kinds"):
        RatioFallback(kinds=("weekly",))


def test_the_fallback_alerts_at_its_ratios_under_the_live_rules(rows) -> None:
    """Daily counter rows go out as a baseline's (a growth strength, no chance): the
    engine holds them to a baseline's levels, which the fallback's strength crosses at its
    ratios, with no hold (that is for a model's views-only rows)."""
    days = np.linspace(300.0, 6_000.0, 50)  # the last day's count against 1,000 a day before
    daily = rows[:50].with_columns(
        **{f"{a}_{w}": pl.Series(days) for a in ("view", "events") for w in ("24h", "6h")},
        **{f"{a}_7d": pl.Series(days + 6_000.0) for a in ("view", "events")},
        hours_since_first_seen=pl.lit(24.0 * 30),
        creators_24h=pl.lit(0.0),
    )
    fallback = RatioFallback.from_dict(RatioFallback().as_dict())
    assert fallback.rows(daily).all()
    growth = daily.select(growth_ratio("24h")).to_series().to_numpy()
    scored = fallback.score(daily)
    assert np.allclose(scored["score"].to_numpy(), growth)  # the page says the growth
    version = f"{RatioFallback.version}@v-test"  # as `LightGBMScorer` names its rows
    assert not is_calibrated(version)
    scores = pl.concat(
        [daily.select("product_id", "tick_ms", "creators_24h"), scored], how="horizontal"
    ).with_columns(
        product_id=pl.format("p{}", pl.int_range(pl.len())), model_version=pl.lit(version)
    )
    alerts = AlertEngine(AlertRules.from_settings(AlertSettings())).evaluate(scores)
    tiers = {a["product_id"]: a["tier"] for a in alerts}
    for i, g in enumerate(growth):
        want = "confident" if g >= fallback.ratio else "heads_up" if g >= 3.0 else None
        assert tiers.get(f"p{i}") == want, (g, scored["probability_72h"][i])
    assert {"confident", "heads_up", None} == {tiers.get(f"p{i}") for i in range(50)}


def test_the_default_recipe_leaves_the_other_shape_families_out() -> None:
    from services.training import DEFAULT_RECIPE, RECIPES, STANDARD_RECIPE

    assert RECIPES["default"] is DEFAULT_RECIPE and RECIPES["standard"] is STANDARD_RECIPE
    cfg = DEFAULT_RECIPE.scenario("counters", 250)
    assert cfg.viral_shapes == ("exponential", "logistic")
    assert cfg.start == DEFAULT_RECIPE.start == STANDARD_RECIPE.start  # one time split
    assert cfg.share_daily_counter + cfg.share_hourly_counter == 1.0
    assert DEFAULT_RECIPE.config.calibrate_per_source
    assert DEFAULT_RECIPE.config.source_fallback.kinds == ("daily_counter",)
    assert DEFAULT_RECIPE.as_dict()["shapes"] == {"counters": ["exponential", "logistic"]}
    assert not STANDARD_RECIPE.config.calibrate_per_source


def test_an_hourly_counter_waking_up_is_not_a_daily_counter(rows) -> None:
    """Its whole day fell in the last 6 h (a quiet night), but over several hours: some in
    the last hour, some before. The day-over-week fallback took such rows (a quiet product's
    first busy hours) and raised false alerts on hourly counters."""
    hourly = rows[50:100]  # the hourly copies of `_kinds_of`
    waking = hourly.with_columns(
        events_24h=pl.lit(900.0),
        view_24h=pl.lit(900.0),
        events_6h=pl.lit(900.0),
        view_6h=pl.lit(900.0),
        events_1h=pl.lit(300.0),
        view_1h=pl.lit(300.0),
    )
    assert (source_kinds(waking) == "views_only").all()
    assert not RatioFallback().rows(waking).any()
    # A daily counter's rows: the day's one event within the hour, or earlier in the 6 h.
    for last_hour in (900.0, 0.0):
        daily = waking.with_columns(events_1h=pl.lit(last_hour), view_1h=pl.lit(last_hour))
        assert (source_kinds(daily) == "daily_counter").all()
