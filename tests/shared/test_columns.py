"""Typed column scalars: the value asked for, None when there is none, an error otherwise."""

from __future__ import annotations

import polars as pl
import pytest

from shared.columns import column_max, column_min


def test_bounds_come_back_as_the_kind_asked_for() -> None:
    ticks = pl.Series("tick_ms", [3_600_000, 7_200_000, 0])
    assert column_min(ticks, int) == 0
    assert column_max(ticks, int) == 7_200_000
    top = column_max(pl.Series("events_1h", [2, 5]), float)
    assert top == 5.0 and isinstance(top, float)


@pytest.mark.parametrize("values", [[], [None, None]])
def test_an_empty_or_all_null_column_has_no_bound(values: list[None]) -> None:
    column = pl.Series("tick_ms", values, dtype=pl.Int64)
    assert column_min(column, int) is None
    assert column_max(column, int) is None


def test_a_non_numeric_column_is_refused() -> None:
    with pytest.raises(TypeError, match="'product_id' is not numeric"):
        column_max(pl.Series("product_id", ["a", "b"]), int)
