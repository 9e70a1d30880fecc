"""The compiled model (lleaves) scores like LightGBM's own predict, and LightGBM's predict
takes over where the compiled model is unavailable."""

from __future__ import annotations

import sys
from pathlib import Path

import lightgbm as lgb
import numpy as np
import polars as pl
import pytest

from services.model.calibration import Isotonic
from services.model.inputs import INPUT_COLUMNS, matrix
from services.model.lgbm import LightGBMScorer

pytest.importorskip("lleaves")


@pytest.fixture(scope="module")
def rows(trained) -> pl.DataFrame:
    """Real feature rows with holes: a few columns null in a third of the rows, so the
    missing-value branches of the trees are taken too."""
    rows = trained.features.head(20_000)
    holes = pl.int_range(pl.len()) % 3 == 0
    return rows.with_columns(
        pl.when(holes).then(None).otherwise(pl.col(c)).alias(c)
        for c in ("view_6h", "growth_6h_vs_24h", "creators_24h")
    )


@pytest.fixture(scope="module")
def model_file(rows: pl.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A forest of the size in use (15 leaves, 120 trees), missing values included."""
    x = matrix(rows, INPUT_COLUMNS)
    growth = np.nan_to_num(x[:, INPUT_COLUMNS.index("growth_6h_vs_24h")], nan=0.0)
    noise = np.random.default_rng(0).normal(size=len(x))
    label = (growth + noise > np.quantile(growth + noise, 0.9)).astype(float)
    params = {"objective": "binary", "num_leaves": 15, "verbose": -1, "num_threads": 1}
    booster = lgb.train(params, lgb.Dataset(x, label), num_boost_round=120)
    path = tmp_path_factory.mktemp("compiled") / "model.txt"
    booster.save_model(str(path))
    return path


def scorer(model_file: Path, compiled: bool) -> LightGBMScorer:
    booster = lgb.Booster(model_file=str(model_file))
    margin = booster.predict(np.zeros((2, len(INPUT_COLUMNS)), np.float32), raw_score=True)
    calibration = Isotonic.fit(np.r_[margin - 5, margin + 5], np.array([0.0, 0, 1, 1]))
    s = LightGBMScorer("v-test", booster, INPUT_COLUMNS, calibration, explain_threshold=0.5)
    if compiled:
        s.start_compile(model_file)
        assert s.wait_compiled(timeout_s=120)
        assert s.compile_s is not None and s.compile_s > 0
    return s


def test_compiled_margins_match_lightgbm(rows: pl.DataFrame, model_file: Path) -> None:
    plain, fast = scorer(model_file, False), scorer(model_file, True)
    x = matrix(rows, INPUT_COLUMNS)
    assert np.isnan(x).any()
    expected = plain.booster.predict(x, raw_score=True, num_threads=1)
    got = fast.margin(rows)
    assert got.dtype == np.float64 and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    assert np.ptp(expected) > 1.0  # a forest that separates rows, not a constant


def test_compiled_scores_and_reasons_match_lightgbm(rows: pl.DataFrame, model_file: Path) -> None:
    plain = scorer(model_file, False).score(rows)
    fast = scorer(model_file, True).score(rows)
    assert fast.columns == plain.columns and fast.height == rows.height
    for c in ("probability", "score"):
        np.testing.assert_allclose(fast[c].to_numpy(), plain[c].to_numpy(), rtol=0, atol=1e-12)
    explained = plain.filter(pl.col("reasons").list.len() > 0).height
    assert 0 < explained < rows.height
    assert fast.drop("probability", "score").equals(plain.drop("probability", "score"))


def test_lightgbm_predicts_when_lleaves_is_missing(
    rows: pl.DataFrame, model_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "lleaves", None)  # `import lleaves` raises ImportError
    s = scorer(model_file, False)
    s.start_compile(model_file)
    assert not s.wait_compiled(timeout_s=60)
    assert s.compiled is None and s.compile_s is None
    x = matrix(rows, INPUT_COLUMNS)
    expected = s.booster.predict(x, raw_score=True, num_threads=1)
    assert np.array_equal(s.margin(rows), expected)


def test_a_model_that_fails_to_compile_keeps_scoring(
    rows: pl.DataFrame, model_file: Path, tmp_path: Path
) -> None:
    s = scorer(model_file, False)
    s.start_compile(tmp_path / "absent.txt")
    assert not s.wait_compiled(timeout_s=60)
    assert s.score(rows.head(100)).height == 100
