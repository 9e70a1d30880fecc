"""`pantau model promote` measures a version as `pantau retrain` does (`promotion.measure`):
on the probabilities the live scorer publishes, daily counters scored by the source
fallback, not on the model's own probability of every row."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from services.cli import app
from services.model import registry
from services.model.promotion import measure, published_probability, window_scores
from services.model.sources import RatioFallback
from shared.features import FEATURE_SCHEMA

HOUR_MS = 3_600_000


def counter_rows(n: int = 60, seed: int = 0) -> pl.DataFrame:
    """Daily view counters (views only, no creators, the day's count in one go): a third
    of the products had a day at many times their usual one (labelled 1), the rest a usual
    day; every row with a week of history."""
    rng = np.random.default_rng(seed)
    viral = np.arange(n) < n // 3
    day = np.where(viral, rng.uniform(3_000, 9_000, n), rng.uniform(250, 900, n))
    usual = rng.uniform(200, 800, n)
    numeric = {name: np.zeros(n) for name, dtype in FEATURE_SCHEMA.items() if dtype == pl.Float64}
    numeric |= {
        "view_24h": day,
        "events_24h": day,
        "view_7d": day + 6 * usual,
        "events_7d": day + 6 * usual,
        "hours_since_first_seen": np.full(n, 24.0 * 30),
    }
    return pl.DataFrame(
        {
            "product_id": [f"p{i}" for i in range(n)],
            "partition": np.zeros(n, np.int32),
            "tick_ms": np.full(n, 1_765_600_000_000 // HOUR_MS * HOUR_MS),
            **numeric,
            "label": viral.astype(np.int8),
        }
    )


def test_promote_measures_what_the_live_scorer_publishes(tmp_path: Path) -> None:
    root = tmp_path / "registry"
    version = root / "v1"
    shutil.copytree(registry.DEFAULT_DIR, version)
    test = counter_rows()
    assert RatioFallback().rows(test).all()  # every row is the fallback's to score
    test.write_parquet(version / "test.parquet")
    scorer = registry.load_version(version, compile=False)

    result = registry.compare(root, "v1", threshold=0.5)
    assert result.current is None
    published = published_probability(scorer, test)
    own = scorer.probability(test)
    assert not np.allclose(published, own)  # the fallback, not the model, scores these rows
    assert result.candidate == measure(scorer, test, 0.5) == window_scores(test, published, 0.5)
    assert result.candidate != window_scores(test, own, 0.5)
    # The fallback ranks these rows by their growth: it finds every viral one.
    assert result.candidate_ap == pytest.approx(1.0)

    done = CliRunner().invoke(app, ["model", "promote", "v1", "--dir", str(root)])
    assert done.exit_code == 0, done.output
    assert "promoted v1: average precision 1.0000 on ticks" in done.output
    assert registry.promoted_version(root) == "v1"
