"""Time split: no label horizon crosses a boundary; parts are disjoint and ordered."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.model.split import part, time_split

HOUR_MS = 3_600_000


@given(
    hours=st.integers(min_value=80, max_value=800),
    horizon_h=st.integers(min_value=1, max_value=24),
    valid=st.floats(min_value=0.1, max_value=0.4),
    test=st.floats(min_value=0.1, max_value=0.4),
)
def test_no_horizon_crosses_a_boundary(hours: int, horizon_h: int, valid: float, test: float):
    ticks = pl.Series("tick_ms", [h * HOUR_MS for h in range(hours)])
    rows = pl.DataFrame({"tick_ms": ticks, "row": range(hours)})
    split = time_split(ticks, horizon_h * HOUR_MS, valid, test)
    train, val, tst = (part(rows, split, n) for n in ("train", "valid", "test"))
    h = horizon_h * HOUR_MS
    assert (train["tick_ms"] + h < split.valid_start_ms).all()
    assert (val["tick_ms"] >= split.valid_start_ms).all()
    assert (val["tick_ms"] + h < split.test_start_ms).all()
    assert (tst["tick_ms"] >= split.test_start_ms).all()
    assert set(train["row"]).isdisjoint(val["row"]) and set(val["row"]).isdisjoint(tst["row"])
    # Only rows within one horizon before a boundary are dropped.
    kept = set(train["row"]) | set(val["row"]) | set(tst["row"])
    for t in rows.filter(~pl.col("row").is_in(list(kept)))["tick_ms"]:
        assert any(b - h <= t < b for b in (split.valid_start_ms, split.test_start_ms))


def test_too_short_a_span_is_a_clear_error() -> None:
    ticks = pl.Series("tick_ms", [h * HOUR_MS for h in range(48)])
    with pytest.raises(ValueError, match="too short to split"):
        time_split(ticks, 24 * HOUR_MS)


def test_no_rows_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="no rows to split"):
        time_split(pl.Series("tick_ms", [], dtype=pl.Int64), 24 * HOUR_MS)
