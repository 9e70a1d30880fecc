"""Training on `small`, the registry round trip, metadata, calibration on the test split,
promotion that refuses a worse candidate, and reasons only above the threshold."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import polars as pl
import pytest
from _lean import run_lean

from services.model import registry
from services.model.baseline import growth_ratio
from services.model.calibration import expected_calibration_error
from services.model.inputs import INPUT_COLUMNS
from services.model.labels import HeadsUpSpec
from services.model.train import TrainConfig, fit, labelled, train_from_frames, train_rows
from shared.scores import SCORE_SCHEMA, is_calibrated

pytestmark = pytest.mark.slow


def test_metadata_describes_the_version(trained) -> None:
    meta = json.loads((trained.good / "metadata.json").read_text())
    assert (trained.good / "model.txt").read_text().startswith("tree")
    assert meta["version"] == trained.good.name
    assert meta["features"] == INPUT_COLUMNS
    assert meta["training_seeds"] == [3, 4]
    assert meta["source"] == {**meta["source"], "kind": "scenario", "scenario": "small"}
    assert meta["label"]["horizon_ms"] == 86_400_000 and "definition" in meta["label"]
    split = meta["split"]
    assert split["start_ms"] < split["valid_start_ms"] < split["test_start_ms"] < split["end_ms"]
    assert meta["training_window"]["end_ms"] == split["valid_start_ms"]
    assert len(meta["data_fingerprint"]) == 16
    assert {"lightgbm", "scikit-learn", "polars"} <= set(meta["libraries"])
    test = meta["metrics"]["test"]
    assert test["rows"] > 0 and 0 < test["positive_rate"] < 1
    assert 0 <= test["ece"] <= 1 and test["average_precision"] is not None


def test_round_trip_and_ece_on_the_test_split(trained) -> None:
    """The loaded model reproduces the stored test-split ECE from the stored test rows."""
    meta = registry.read_metadata(trained.good)
    scorer = registry.load_version(trained.good)
    test = pl.read_parquet(trained.good / "test.parquet")
    assert test.height == meta["metrics"]["test"]["rows"]
    assert test["tick_ms"].min() >= meta["split"]["test_start_ms"]
    prob = scorer.probability(test)
    ece = expected_calibration_error(prob, test["label"].to_numpy().astype(float))
    assert ece == pytest.approx(meta["metrics"]["test"]["ece"], abs=1e-9)
    assert ece <= 0.05
    rows = trained.features.head(500)
    scores = scorer.score(rows)
    assert scores.schema == pl.Schema(SCORE_SCHEMA)
    # Its own rows carry its version; a daily counter's, the ratio fallback's (a baseline).
    assert scorer.fallback is not None
    theirs = pl.Series(scorer.fallback.rows(rows))
    assert (scores.filter(~theirs)["model_version"] == scorer.version).all()
    assert (scores.filter(theirs)["model_version"] == scorer.fallback_version).all()
    assert scores["probability"].is_between(0, 1).all()


def test_promote_refuses_a_worse_candidate_unless_forced(trained) -> None:
    root = trained.registry
    first = registry.promote(root, trained.good.name)
    assert first.current_ap is None and registry.promoted_version(root) == trained.good.name
    with pytest.raises(registry.PromotionRefused, match="worse than the promoted model"):
        registry.promote(root, trained.weak.name)
    assert registry.promoted_version(root) == trained.good.name
    forced = registry.promote(root, trained.weak.name, force=True)
    assert forced.worse and registry.promoted_version(root) == trained.weak.name
    listed = {m["version"]: m["promoted"] for m in registry.list_versions(root)}
    assert listed == {trained.good.name: False, trained.weak.name: True}
    registry.promote(root, trained.good.name)  # better than the weak one: accepted
    assert registry.promoted_version(root) == trained.good.name


def test_reasons_only_above_the_threshold(trained) -> None:
    scorer = registry.load_version(trained.good)
    prob = scorer.probability(trained.features)
    scorer.explain_threshold = float(np.quantile(prob, 0.98))
    scores = scorer.score(trained.features)
    above = scores["probability"] >= scorer.explain_threshold
    n_reasons = scores["reasons"].list.len()
    assert above.sum() > 0 and (~above).sum() > 0
    assert (n_reasons.filter(~above) == 0).all()
    assert n_reasons.filter(above).is_between(1, 3).all()
    first = scores.filter(above)["reasons"][0].to_list()
    assert all(r["feature"] in INPUT_COLUMNS and r["text_id"] and r["text_en"] for r in first)


def test_continuous_learning_from_the_feature_log(trained, tmp_path) -> None:
    """The service's own feature log (written by ingest) trains a candidate; the promote
    guard then compares it with the current model on the candidate's recent window."""
    from services.ingest import feature_log

    feature_log.write(tmp_path / "log", trained.features)
    logged = feature_log.read(tmp_path / "log")
    assert logged.height == trained.features.height
    # A registry of its own with the good version promoted: no other test's promotions.
    root = tmp_path / "registry"
    shutil.copytree(trained.registry, root)
    registry.promote(root, trained.good.name, force=True)
    candidate = train_from_frames(
        [("feature-log", logged)], root, {"kind": "feature_log"}, progress=False
    )
    assert registry.read_metadata(candidate)["source"]["kind"] == "feature_log"
    result = registry.compare(root, candidate.name)
    assert result.current_ap is not None and 0 < result.candidate_ap <= 1
    assert labelled(logged, "x", TrainConfig())["label"].sum() > 0


def test_products_too_new_to_judge_score_as_the_least_likely(trained) -> None:
    scorer = registry.load_version(trained.good)
    assert scorer.min_history_h == 24
    young = trained.features["hours_since_first_seen"] < 24
    assert young.any() and (~young).any()
    scores = scorer.score(trained.features)
    assert (scores.filter(young)["score"] == 0).all()
    assert scores.filter(young)["probability"].max() == scores["probability"].min()
    scorer.min_history_h = 0  # without the rule the model guesses on them
    assert scorer.fallback is not None
    own = ~pl.Series(scorer.fallback.rows(trained.features))  # not the ratio fallback's
    assert scorer.score(trained.features).filter(young & own)["score"].min() > 0


def test_a_version_scores_without_the_train_and_compiled_extras(trained) -> None:
    # The score service installs without scikit-learn and lleaves: LightGBM predicts.
    features = trained.registry / "lean-features.parquet"
    trained.features.head(2_000).write_parquet(features)
    done = run_lean(
        "import polars as pl\n"
        "from pathlib import Path\n"
        "from services.model.registry import load_version\n"
        f"scorer = load_version(Path({str(trained.good)!r}))\n"
        "assert not scorer.wait_compiled(30)\n"
        f"scores = scorer.score(pl.read_parquet({str(features)!r}))\n"
        "print(scores.height, scores['probability'].is_between(0, 1).all())\n"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["2000", "True"]


def test_training_progress_ends_where_boosting_ended(trained, capsys) -> None:
    # Early stopping used to leave the bar at "42/400", as if training had been cut short.
    cfg = TrainConfig(num_boost_round=400, early_stopping_rounds=5, learning_rate=0.5)
    rows = labelled(trained.features, "small-3", cfg)
    _, _, _, report = fit(rows, cfg, progress=True)
    out = " ".join(capsys.readouterr().out.split())
    rounds = int(re.search(r"stopped early at round (\d+) of 400", out)[1])
    assert f"{rounds}/{rounds}" in out and "/400" not in out
    assert report["best_iteration"] == rounds - 5
    best = rounds - 5
    assert f"no gain on validation in the last 5 rounds; keeping the best, round {best}" in out

    cfg = TrainConfig(num_boost_round=3, early_stopping_rounds=5)
    fit(rows, cfg, progress=True)
    out = " ".join(capsys.readouterr().out.split())
    assert "3/3" in out and "boosting: all 3 rounds" in out and "stopped early" not in out


def test_one_version_holds_both_horizons(trained, tmp_path) -> None:
    # Two weeks of `small` are short for a 96 h look-ahead split: the default heads-up
    # (within 48 h) may have no viral rows in a part and says so; 12 h fits.
    meta = registry.read_metadata(trained.good)
    entry = meta["horizons"]["72h"]
    assert "model_file" in entry or entry["skipped"]
    cfg = TrainConfig(heads_up=HeadsUpSpec(within_ms=12 * 3_600_000))
    rows = labelled(trained.features, "small-3", cfg)
    version = train_rows(rows, tmp_path, {"kind": "test"}, [3], cfg, progress=False)
    entry = registry.read_metadata(version)["horizons"]["72h"]
    assert entry["label"]["horizon_ms"] == 36 * 3_600_000
    assert (version / entry["model_file"]).read_text().startswith("tree")
    assert entry["split"]["horizon_ms"] == entry["label"]["within_ms"] + 2 * 86_400_000
    scores = registry.load_version(version).score(trained.features)
    p72 = scores["probability_72h"]
    assert p72.null_count() == 0 and p72.is_between(0, 1).all()
    test = pl.read_parquet(version / "test.parquet")
    known = test.filter(pl.col("label_heads_up").is_not_null())
    # Viral within the longer horizon includes viral within 24 h.
    assert known.height > 0 and (known["label_heads_up"] >= known["label"]).all()


def test_daily_counter_rows_are_scored_by_the_growth_ratio(trained) -> None:
    scorer = registry.load_version(trained.good)
    assert scorer.fallback is not None
    rows = trained.features.filter(pl.col("hours_since_first_seen") > 72).head(200)
    # Every window of a daily counter: the day's one event came in the last 6 h, not the
    # last hour (the rows' own last hour would be a second event that day).
    windows = ("_7d", "_24h", "_6h", "_1h", "_5m")
    quiet = dict.fromkeys([c for c in rows.columns if c.endswith(windows)], 0.0)
    day = {"view_7d": 7_000.0, "events_7d": 7_000.0}  # views only; the day's count
    day |= {f"{a}_{w}": 6_000.0 for a in ("view", "events") for w in ("24h", "6h")}
    counter = rows.with_columns(**{c: pl.lit(v) for c, v in (quiet | day).items()})
    fallback = scorer.fallback
    assert fallback.rows(counter).all() and not fallback.rows(rows).any()
    scores = scorer.score(counter)
    # A day 6x the earlier days: at or above the confident threshold (5x), no reasons.
    assert (scores["probability"] >= fallback.threshold).all()
    assert (scores["probability_72h"] >= fallback.heads_up_threshold).all()
    assert scores["reasons"].list.len().max() == 0
    # A growth strength, no chance: the rows say so (a baseline's, of this version), and
    # `score` is the growth.
    assert (scores["model_version"] == scorer.fallback_version).all()
    assert not is_calibrated(scorer.fallback_version)
    assert scorer.fallback_version.endswith(f"@{scorer.version}")
    growth = counter.select(growth_ratio("24h")).to_series().to_numpy()
    assert np.allclose(scores["score"].to_numpy(), growth) and (growth >= fallback.ratio).all()
    scorer.fallback = None  # the model alone scores them as it would any row
    assert not np.allclose(scorer.score(counter)["probability"], scores["probability"])
