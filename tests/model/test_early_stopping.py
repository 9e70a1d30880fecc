"""Early stopping follows the validation log loss, not whichever metric stalls first."""

from __future__ import annotations

import numpy as np
import polars as pl

from services.model.train import TrainConfig, fit
from shared.features import FEATURE_COLUMNS

HOUR_MS = 3_600_000


def test_boosting_stops_on_the_log_loss_not_on_average_precision() -> None:
    # One feature separates the classes: average precision is 1 from the first round and
    # never improves, while the log loss keeps falling for many rounds (learning rate
    # 0.05). Stopping on any metric kept round 1.
    rng = np.random.default_rng(0)
    n = 24_000
    label = (rng.random(n) < 0.05).astype(np.int8)
    rows = pl.DataFrame(
        {
            **{c: np.zeros(n) for c in FEATURE_COLUMNS},
            "product_id": [f"p{i % 500}" for i in range(n)],
            "tick_ms": np.sort(rng.integers(0, 12 * 24 * HOUR_MS, n)),
            "events_24h": label * 100.0 + rng.random(n),
            "events_5m": rng.random(n),
            "label": label,
        }
    )
    cfg = TrainConfig(num_boost_round=120, early_stopping_rounds=10, min_data_in_leaf=50)
    _, _, _, report = fit(rows, cfg, progress=False)
    assert report["best_iteration"] > 20
