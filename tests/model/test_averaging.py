"""Boosters averaged into one LightGBM model: its margins, contributions, saved file and
compiled form are the members' mean; `fit` with members averages boosters of its seeds."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import lightgbm as lgb
import numpy as np
import polars as pl
import pytest

from services.model.averaging import mean_booster
from services.model.inputs import INPUT_COLUMNS, matrix
from services.model.train import TrainConfig, fit
from tests.model.test_heads_up_inputs import rows


def _members(n: int) -> tuple[np.ndarray, list[lgb.Booster]]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3_000, 5))
    y = (x[:, 0] + x[:, 1] * x[:, 2] + rng.normal(size=3_000) > 0).astype(int)
    params = {"objective": "binary", "num_leaves": 7, "bagging_fraction": 0.7, "verbose": -1}
    boosters = [
        lgb.train({**params, "bagging_freq": 1, "seed": s}, lgb.Dataset(x, y), 15 + 5 * s)
        for s in range(n)
    ]
    return x, boosters


def test_the_mean_booster_scores_the_members_mean(tmp_path: Path) -> None:
    x, members = _members(3)
    mean = mean_booster(members)
    expected = np.mean([b.predict(x, raw_score=True) for b in members], axis=0)
    assert mean.num_trees() == sum(b.num_trees() for b in members)
    np.testing.assert_allclose(mean.predict(x, raw_score=True), expected, rtol=0, atol=1e-12)
    # Contributions add up to the same margins, so reasons read the mean too.
    contrib = mean.predict(x[:50], pred_contrib=True)
    np.testing.assert_allclose(contrib.sum(axis=1), expected[:50], rtol=0, atol=1e-12)
    mean.save_model(str(tmp_path / "mean.txt"))
    loaded = lgb.Booster(model_file=str(tmp_path / "mean.txt"))
    np.testing.assert_allclose(loaded.predict(x, raw_score=True), expected, rtol=0, atol=1e-12)
    assert np.ptp(expected) > 1.0  # members that learnt something


def test_the_mean_booster_compiles(tmp_path: Path) -> None:
    from services.model.lgbm import compile_model

    x, members = _members(2)
    mean_booster(members).save_model(str(tmp_path / "mean.txt"))
    expected = np.mean([b.predict(x, raw_score=True) for b in members], axis=0)
    compiled = compile_model(tmp_path / "mean.txt")
    np.testing.assert_allclose(compiled.predict(x), expected, rtol=0, atol=1e-9)


def test_one_member_is_itself() -> None:
    _, members = _members(1)
    assert mean_booster(members) is members[0]


@pytest.fixture(scope="module")
def labelled() -> pl.DataFrame:
    f = rows(6_000, seed=5)
    signal = (pl.col("growth_6h_vs_24h") + pl.col("creators_24h")) > 60
    return f.with_columns(label=signal.cast(pl.Int8))


def test_fit_averages_boosters_of_consecutive_seeds(labelled: pl.DataFrame) -> None:
    cfg = TrainConfig(num_boost_round=8, min_data_in_leaf=20, num_threads=1, seed=4)
    pair, _, _, report = fit(labelled, cfg, False, members=2)
    first, *_ = fit(labelled, cfg, False)
    second, *_ = fit(labelled, dataclasses.replace(cfg, seed=5), False)
    x = matrix(labelled, INPUT_COLUMNS)
    expected = (first.predict(x, raw_score=True) + second.predict(x, raw_score=True)) / 2
    np.testing.assert_allclose(pair.predict(x, raw_score=True), expected, rtol=0, atol=1e-9)
    assert len(report["member_best_iterations"]) == 2
    assert not np.allclose(first.predict(x, raw_score=True), second.predict(x, raw_score=True))


def test_the_report_gives_the_train_part_and_each_members_sample(labelled: pl.DataFrame) -> None:
    cfg = TrainConfig(
        num_boost_round=4, min_data_in_leaf=20, num_threads=1, seed=4, negatives_per_positive=1
    )
    *_, report = fit(labelled, cfg, False, members=2)
    rows, positives = report["rows"], report["positives"]
    assert rows["train"] + rows["valid"] + rows["test"] <= labelled.height
    assert len(rows["train_sampled"]) == 2
    # One negative kept per positive, in expectation: each sample is about twice the
    # positives, well under the train part, and the two members drew different ones.
    for height in rows["train_sampled"]:
        assert positives["train"] < height < rows["train"]
    assert rows["train_sampled"][0] != rows["train_sampled"][1]
