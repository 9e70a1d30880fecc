"""The heads-up model's own inputs: the day-over-day ratios over the history columns, the
per-horizon columns a version stores, and the scorer feeding each booster its own."""

from __future__ import annotations

import json
from pathlib import Path

import lightgbm as lgb
import numpy as np
import polars as pl
import pytest

from services.model import horizons
from services.model.calibration import Isotonic
from services.model.inputs import HEADS_UP_INPUT_COLUMNS, INPUT_COLUMNS, matrix
from services.model.registry import load_version
from services.model.train import TrainConfig, train_rows
from shared.features import COUNT_COLUMNS, FEATURE_COLUMNS, HISTORY_COLUMNS, TOTAL_COLUMNS

HOUR_MS = 3_600_000


def rows(n: int, seed: int = 0) -> pl.DataFrame:
    """Feature rows of random counts over 20 days, a fifth of the history columns null."""
    rng = np.random.default_rng(seed)
    data: dict[str, object] = {c: rng.integers(0, 50, n).astype(float) for c in FEATURE_COLUMNS}
    for c in HISTORY_COLUMNS:
        data[c] = np.where(rng.random(n) < 0.2, np.nan, data[c])
    data["hours_since_first_seen"] = np.full(n, 500.0)
    frame = pl.DataFrame(data).fill_nan(None)
    return frame.with_columns(
        product_id=pl.format("p{}", pl.int_range(pl.len()) % 20),
        tick_ms=pl.int_range(pl.len()) * (20 * 24 * HOUR_MS // n),
    )


def test_day_over_day_ratios() -> None:
    f = pl.DataFrame(
        {
            "creators_24h": [9.0, 9.0, 0.0],
            "creators_24h_day_before": [2.0, None, 4.0],
            "creators_24h_two_days_before": [0.0, 3.0, None],
            "creators_6h": [5.0, 5.0, 5.0],
            "creators_6h_day_before": [4.0, None, 0.0],
            "events_24h": [100.0, 100.0, 100.0],
            "events_24h_day_before": [49.0, None, 0.0],
            "events_24h_two_days_before": [9.0, 1.0, None],
            "new_creator_share_6h_day_before": [0.5, None, 0.25],
            "growth_24h_vs_category_day_before": [2.0, None, 1.5],
        }
    )
    x = matrix(f, HEADS_UP_INPUT_COLUMNS)
    got = {c: x[:, HEADS_UP_INPUT_COLUMNS.index(c)].tolist() for c in HEADS_UP_INPUT_COLUMNS}
    # No row a day back counts as a day with none; a missing day before stays missing.
    assert got["creators_24h_vs_day_before"] == [3.0, 9.0, 0.0]
    assert got["creators_day_before_vs_two_days_before"][0::2] == [2.0, 4.0]
    assert np.isnan(got["creators_day_before_vs_two_days_before"][1])
    assert got["creators_6h_vs_day_before"] == [1.0, 5.0, 5.0]
    assert got["events_24h_vs_day_before"] == [2.0, 100.0, 100.0]
    assert got["events_day_before_vs_two_days_before"][0::2] == pytest.approx([4.9, 0.0])
    assert got["new_creator_share_6h_day_before"][0::2] == [0.5, 0.25]
    assert got["growth_24h_vs_category_day_before"][0::2] == [2.0, 1.5]
    # Rows from before the history columns existed: the ratios over them are missing.
    old = matrix(
        f.drop("creators_24h_day_before", "creators_6h_day_before"), HEADS_UP_INPUT_COLUMNS
    )
    for c in ("creators_24h_vs_day_before", "creators_6h_vs_day_before"):
        assert np.isnan(old[:, HEADS_UP_INPUT_COLUMNS.index(c)]).all()
    # The heads-up reads the 24 h model's inputs but the volume counts of each window.
    left_out = set(INPUT_COLUMNS) - set(HEADS_UP_INPUT_COLUMNS)
    assert left_out == {c for c in INPUT_COLUMNS if c in {*COUNT_COLUMNS, *TOTAL_COLUMNS}}
    assert {"view_24h", "events_7d"} <= left_out and "creators_24h" in HEADS_UP_INPUT_COLUMNS
    assert not set(HISTORY_COLUMNS) & set(INPUT_COLUMNS)  # the 24 h model reads none


def _booster(x: np.ndarray, label: np.ndarray, names: list[str]) -> lgb.Booster:
    params = {"objective": "binary", "num_leaves": 4, "verbose": -1, "num_threads": 1}
    return lgb.train(params, lgb.Dataset(x, label, feature_name=names), num_boost_round=10)


@pytest.fixture(scope="module")
def version(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A version whose heads-up booster reads the day-over-day inputs: its label follows
    creators against the day before, the 24 h one follows the 6 h growth."""
    f = rows(2_000)
    x24, x72 = matrix(f, INPUT_COLUMNS), matrix(f, HEADS_UP_INPUT_COLUMNS)
    ratio = x72[:, HEADS_UP_INPUT_COLUMNS.index("creators_24h_vs_day_before")]
    growth = x24[:, INPUT_COLUMNS.index("growth_6h_vs_24h")]
    day, ahead = (
        _booster(x24, growth > 1.0, INPUT_COLUMNS),
        _booster(x72, np.nan_to_num(ratio) > 2.0, HEADS_UP_INPUT_COLUMNS),
    )
    out = tmp_path_factory.mktemp("version")
    day.save_model(str(out / "model.txt"))
    ahead.save_model(str(out / horizons.HEADS_UP_FILE))
    identity = {"x": [-10.0, 10.0], "y": [0.0, 1.0]}
    meta = {
        "version": "v-heads-up-inputs",
        "features": INPUT_COLUMNS,
        "calibration": identity,
        "horizons": {
            horizons.HEADS_UP: {
                "model_file": horizons.HEADS_UP_FILE,
                "features": HEADS_UP_INPUT_COLUMNS,
                "calibration": identity,
            }
        },
    }
    (out / "metadata.json").write_text(json.dumps(meta))
    return out


def test_the_scorer_feeds_each_booster_its_own_inputs(version: Path) -> None:
    scorer = load_version(version, compile=False)
    assert scorer.heads_up is not None and scorer.heads_up.columns == HEADS_UP_INPUT_COLUMNS
    f = rows(300, seed=1)
    scores = scorer.score(f, explain=False)
    identity = Isotonic.from_dict({"x": [-10.0, 10.0], "y": [0.0, 1.0]})
    day = lgb.Booster(model_file=str(version / "model.txt"))
    ahead = lgb.Booster(model_file=str(version / horizons.HEADS_UP_FILE))
    p24 = identity(day.predict(matrix(f, INPUT_COLUMNS), raw_score=True))
    p72 = identity(ahead.predict(matrix(f, HEADS_UP_INPUT_COLUMNS), raw_score=True))
    np.testing.assert_allclose(scores["probability"].to_numpy(), p24, rtol=0, atol=1e-12)
    np.testing.assert_allclose(scores["probability_72h"].to_numpy(), p72, rtol=0, atol=1e-12)
    assert np.ptp(p72) > 0.1 and np.ptp(p24) > 0.1  # boosters that read their inputs


def test_a_version_without_heads_up_features_scores_with_the_shared_columns(
    tmp_path: Path,
) -> None:
    """Versions from before the heads-up had inputs of its own: both boosters read
    `features`."""
    f = rows(2_000)
    x = matrix(f, INPUT_COLUMNS)
    growth = x[:, INPUT_COLUMNS.index("growth_6h_vs_24h")]
    for name in ("model.txt", horizons.HEADS_UP_FILE):
        _booster(x, growth > 1.0, INPUT_COLUMNS).save_model(str(tmp_path / name))
    identity = {"x": [-10.0, 10.0], "y": [0.0, 1.0]}
    heads_up = {"model_file": horizons.HEADS_UP_FILE, "calibration": identity}
    meta = {
        "version": "v-shared-inputs",
        "features": INPUT_COLUMNS,
        "calibration": identity,
        "horizons": {horizons.HEADS_UP: heads_up},
    }
    (tmp_path / "metadata.json").write_text(json.dumps(meta))
    scorer = load_version(tmp_path, compile=False)
    assert scorer.heads_up is not None and scorer.heads_up.columns is None
    f = rows(200, seed=2).drop(HISTORY_COLUMNS)  # feature rows of the release it knew
    _, ahead = scorer.margins(f)
    expected = scorer.heads_up.booster.predict(matrix(f, INPUT_COLUMNS), raw_score=True)
    assert ahead is not None
    np.testing.assert_array_equal(ahead, expected)
    assert scorer.score(f, explain=False)["probability_72h"].is_not_null().all()


@pytest.mark.parametrize("day_before", [True, False])
def test_the_heads_up_entry_stores_its_inputs(day_before: bool) -> None:
    f = rows(4_000, seed=3)
    rng = np.random.default_rng(4)
    labelled = f.with_columns(
        label=pl.Series(rng.random(f.height) < 0.1).cast(pl.Int8),
        label_heads_up=pl.Series(rng.random(f.height) < 0.2).cast(pl.Int8),
    )
    cfg = TrainConfig(
        num_boost_round=3, min_data_in_leaf=20, num_threads=1, heads_up_day_before=day_before
    )
    horizon, entry = horizons.fit_heads_up(labelled, cfg, False)
    expected = HEADS_UP_INPUT_COLUMNS if day_before else INPUT_COLUMNS
    assert horizon is not None and entry["features"] == expected
    assert horizon.columns == expected and horizon.booster.feature_name() == expected


def test_heads_up_rows_train_the_heads_up_alone(tmp_path: Path) -> None:
    """A recipe's `heads_up_runs`: their rows join the heads-up's training, and the 24 h
    model is the one trained without them."""

    def labelled(seed: int) -> pl.DataFrame:
        f = rows(3_000, seed=seed)
        rng = np.random.default_rng(seed)
        return f.with_columns(
            label=pl.Series(rng.random(f.height) < 0.1).cast(pl.Int8),
            label_heads_up=pl.Series(rng.random(f.height) < 0.2).cast(pl.Int8),
            run=pl.lit(f"run-{seed}"),
        )

    cfg = TrainConfig(
        num_boost_round=3, min_data_in_leaf=20, num_threads=1, heads_up_day_before=True
    )
    source = {"kind": "test"}
    alone = train_rows(labelled(7), tmp_path / "a", source, cfg=cfg, progress=False)
    more = train_rows(
        labelled(7), tmp_path / "b", source, cfg=cfg, progress=False, heads_up_rows=labelled(8)
    )
    assert (alone / "model.txt").read_text() == (more / "model.txt").read_text()
    entries = [
        json.loads((v / "metadata.json").read_text())["horizons"][horizons.HEADS_UP]
        for v in (alone, more)
    ]
    counts = [
        sum(e["metrics"]["rows"][part] for part in ("train", "valid", "test")) for e in entries
    ]
    assert counts[1] > counts[0]
    assert (alone / horizons.HEADS_UP_FILE).read_text() != (
        more / horizons.HEADS_UP_FILE
    ).read_text()
