"""Typed scalars of Polars columns.

Polars types `Series.min()` and `max()` as any Python literal (dates, strings, lists...);
these say what a numeric column holds, so callers compare and add without casts.
"""

from __future__ import annotations

from typing import TypeVar

import polars as pl

N = TypeVar("N", int, float)


def column_min(column: pl.Series, kind: type[N]) -> N | None:
    """The smallest value as `kind`; None for an empty or all-null column."""
    return _as(column.min(), kind, column.name)


def column_max(column: pl.Series, kind: type[N]) -> N | None:
    """The largest value as `kind`; None for an empty or all-null column."""
    return _as(column.max(), kind, column.name)


def _as(value: object, kind: type[N], name: str) -> N | None:
    if value is None:
        return None
    if not isinstance(value, int | float):
        raise TypeError(f"column {name!r} is not numeric: {type(value).__name__}")
    return kind(value)
