"""Time split into train / validation / test with no label horizon crossing a boundary. Pure.

The boundaries cut the data's time span by fractions. A row at tick t is labelled by what
happens in (t, t + horizon], so a training row whose horizon reaches past the validation
start would carry validation-period outcomes into training (and likewise validation into
test): such rows are dropped, leaving a gap of one horizon before each boundary.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from shared.columns import column_max, column_min


@dataclass(frozen=True)
class Split:
    start_ms: int
    valid_start_ms: int
    test_start_ms: int
    end_ms: int
    horizon_ms: int

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def time_split(
    ticks: pl.Series, horizon_ms: int, valid_fraction: float = 0.2, test_fraction: float = 0.2
) -> Split:
    start, end = column_min(ticks, int), column_max(ticks, int)
    if start is None or end is None:
        raise ValueError("no rows to split")
    span = end - start
    if span <= 3 * horizon_ms:
        raise ValueError(
            f"the data spans {span / 3_600_000:.0f} h: too short to split with a "
            f"{horizon_ms / 3_600_000:.0f} h horizon (need more than three horizons)"
        )
    test_start = end - int(span * test_fraction)
    valid_start = test_start - int(span * valid_fraction)
    return Split(start, valid_start, test_start, end, horizon_ms)


def part(rows: pl.DataFrame, split: Split, name: str) -> pl.DataFrame:
    """Rows of one part (train, valid or test) whose label horizon stays inside it."""
    tick, h = pl.col("tick_ms"), split.horizon_ms
    bounds = {
        "train": (split.start_ms, split.valid_start_ms),
        "valid": (split.valid_start_ms, split.test_start_ms),
        "test": (split.test_start_ms, split.end_ms + 1),
    }
    lo, hi = bounds[name]
    return rows.filter((tick >= lo) & (tick + h < hi) if name != "test" else (tick >= lo))


def hold_out_recent(
    rows: pl.DataFrame, window_ms: int, lookahead_ms: dict[str, int]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(training rows, recent window): the window is the last `window_ms` of rows whose
    `label` is known; a training row keeps a label column (a key of `lookahead_ms`) only
    when that label's look-ahead ends before the window starts (else it is null), and rows
    whose `label` would look into the window are dropped. So no outcome inside the window
    reaches training, and the window compares models on what neither has seen."""
    known = rows.filter(pl.col("label").is_not_null())
    end = column_max(known["tick_ms"], int)
    if end is None:
        return rows.clear(), rows.clear()
    start = end - window_ms + 1
    tick = pl.col("tick_ms")
    train = known.filter(tick + lookahead_ms["label"] < start).with_columns(
        pl.when(tick + ms < start).then(pl.col(name)).otherwise(None).alias(name)
        for name, ms in lookahead_ms.items()
        if name != "label" and name in rows.columns
    )
    return train, known.filter(tick >= start)
