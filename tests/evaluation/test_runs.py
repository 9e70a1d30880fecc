"""A run's cached rows read lean: whole ticks per batch, and the same scores as at once."""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from services.evaluation.alerting import run_alerts
from services.evaluation.baselines import LOGISTIC_COLUMNS, LogisticScorer
from services.evaluation.data import Run
from services.evaluation.tuning import (
    ALERT_INPUTS,
    Method,
    growth_ratio_method,
    rolling_z_method,
    score_run,
)
from services.model.scorer import Scorer
from shared.alerts import AlertRules
from shared.features import FEATURE_SCHEMA

TICK_MS = 300_000


def _run(tmp_path: Path, seed: int = 1) -> tuple[Run, pl.DataFrame]:
    """A cached run of random feature rows; products come and go, as live."""
    rng = np.random.default_rng(seed)
    keys = [(f"p{p:02d}", t * TICK_MS) for t in range(400) for p in range(12) if rng.random() < 0.8]
    n = len(keys)
    data: dict[str, pl.Series] = {}
    for name, dtype in FEATURE_SCHEMA.items():
        if name == "product_id":
            data[name] = pl.Series(name, [k[0] for k in keys], dtype=dtype)
        elif name == "tick_ms":
            data[name] = pl.Series(name, [k[1] for k in keys], dtype=dtype)
        elif isinstance(dtype, pl.List):
            data[name] = pl.Series(name, [["ID-JT"]] * n, dtype=dtype)
        elif dtype == pl.String:
            data[name] = pl.Series(name, ["x"] * n, dtype=dtype)
        elif dtype == pl.Float64:
            data[name] = pl.Series(name, rng.gamma(1.0, 20.0, n), dtype=dtype)
        else:
            data[name] = pl.Series(name, [0] * n, dtype=dtype)
    frame = pl.DataFrame(data).sort("tick_ms", "product_id")
    path = tmp_path / "features.parquet"
    frame.write_parquet(path, row_group_size=700)
    return Run("synthetic", seed, {}, path, None), frame


def test_batches_are_whole_ticks_in_tick_order(tmp_path: Path) -> None:
    run, frame = _run(tmp_path)
    batches = list(run.batches(["product_id", "tick_ms", "events_1h"], rows=500))
    assert len(batches) > 5
    assert all(b.columns == ["product_id", "tick_ms", "events_1h"] for b in batches)
    assert pl.concat(batches).equals(frame.select("product_id", "tick_ms", "events_1h"))
    for before, after in pairwise(batches):
        assert before["tick_ms"].max() < after["tick_ms"].min()  # no tick is split


def test_rows_by_position_reads_only_those(tmp_path: Path) -> None:
    run, frame = _run(tmp_path)
    positions = np.array([0, 5, 699, 700, frame.height - 1])
    got = run.rows(positions, ["product_id", "tick_ms", "events_5m"])
    assert got.equals(frame[positions].select("product_id", "tick_ms", "events_5m"))


def _method(name: str, frame: pl.DataFrame) -> tuple[Method, Callable[[], Scorer]]:
    if name == "logistic":
        fitted = LogisticScorer.fit(frame, (frame["events_1h"].to_numpy() > 30).astype(np.int8))
        return Method("logistic", "logistic", (), tuple(LOGISTIC_COLUMNS)), lambda: fitted
    method = growth_ratio_method() if name == "growth_ratio" else rolling_z_method()
    return method, method.knobs[2].make_scorer


@pytest.mark.parametrize("name", ["growth_ratio", "rolling_z", "logistic"])
def test_scoring_in_batches_equals_scoring_the_whole_run(tmp_path: Path, name: str) -> None:
    run, frame = _run(tmp_path)
    method, make = _method(name, frame)
    batched = score_run(make(), run, method.columns, batch_rows=333)
    whole = make().score(frame).select(ALERT_INPUTS)
    assert batched.height == frame.height
    assert batched["probability"].n_unique() > 100  # scores vary, so equality means something
    # Equal but for the last bits of a float: rolling sums and BLAS sum in another order.
    assert_frame_equal(batched, whole, check_exact=False, rel_tol=1e-12, abs_tol=1e-15)
    rules = AlertRules(threshold=0.3, rearm_below=0.1)
    alerts = run_alerts(batched, rules)
    assert alerts.height > 10
    assert alerts.equals(run_alerts(whole, rules))


def test_a_cache_from_a_release_with_fewer_feature_columns_is_replayed(tmp_path: Path) -> None:
    """Cached features lacking a column today's rows have (price_idr came later) are
    replayed, not read: reading them failed on the missing column."""
    from dataclasses import replace

    from services.evaluation.data import prepare_run
    from services.simulator import SCENARIOS

    scenario = replace(SCENARIOS["small"], days=2)
    first = prepare_run(scenario, 1, tmp_path, partitions=1)
    assert first.replay_s is not None
    assert prepare_run(scenario, 1, tmp_path, partitions=1).replay_s is None  # cached
    old = pl.read_parquet(first.path).drop("price_idr")
    old.write_parquet(first.path)
    again = prepare_run(scenario, 1, tmp_path, partitions=1)
    assert again.replay_s is not None
    assert "price_idr" in again.features.columns
