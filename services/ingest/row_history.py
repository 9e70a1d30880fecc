"""A product's own published values a day and two days earlier (the history columns of
`shared.features`). Pure: NumPy arrays per slot, no I/O.

Per slot, a ring of hourly cells: the cell of hour h holds the values of the slot's last
published row with a tick in (h - 1 h, h], stamped with h. A row at tick t reads the
cells of A = the whole hour at or before t - 24 h and of A - 1 h (its latest row in
(A - 2 h, A]), and the same 24 h earlier. Those reach back at most 50 h before the hour
the tick writes, so `CELLS` hours always hold every cell a later tick can read; a stamp
that is not the hour asked for is a cell of an older hour, i.e. no row then.
"""

from __future__ import annotations

import numpy as np

from services.ingest.config import DAY_MS, HOUR_MS
from services.ingest.state_arrays import Arrays
from shared.features import FEATURE_COLUMNS, HISTORY_COLUMNS

CELLS = 52
_DAYS_BACK = {"_two_days_before": 2, "_day_before": 1}  # suffixes, the longer first
# History column -> (the column it reads, days back).
SOURCES: dict[str, tuple[str, int]] = {
    column: next((column.removesuffix(s), d) for s, d in _DAYS_BACK.items() if column.endswith(s))
    for column in HISTORY_COLUMNS
}
# What a cell keeps: the columns the history columns read.
KEPT = tuple(dict.fromkeys(name for name, _ in SOURCES.values()))
_KEPT_AT = [FEATURE_COLUMNS.index(name) for name in KEPT]
_EMPTY = np.iinfo(np.int32).min  # the stamp of a cell no row has written


class RowHistory:
    """The hourly cells of every slot; slots beyond the arrays have an empty history."""

    def __init__(self, capacity: int = 0) -> None:
        self.hour = np.full((capacity, CELLS), _EMPTY, np.int32)  # hours since the epoch
        self.values = np.zeros((capacity, CELLS, len(KEPT)), np.float64)

    def record(self, slots: np.ndarray, tick_ms: int, numbers: np.ndarray) -> None:
        """Keep the `KEPT` values of the rows `slots` published at `tick_ms` (one row per
        slot; `numbers` one row per `FEATURE_COLUMNS` column, as `TickRows` holds them); a
        later tick of the same hour overwrites them."""
        if len(slots) == 0:
            return
        self._fit(int(slots.max()) + 1)
        hour = -(-tick_ms // HOUR_MS)  # the hour h with tick_ms in (h - 1 h, h]
        cell = hour % CELLS
        self.hour[slots, cell] = hour
        self.values[slots, cell] = numbers[_KEPT_AT].T

    def lookup(self, slots: np.ndarray, tick_ms: int) -> dict[str, np.ndarray]:
        """The history columns of rows of `slots` at `tick_ms`: NaN where none was
        published in the two hours read."""
        found = {days: self._latest(slots, (tick_ms - days * DAY_MS) // HOUR_MS) for days in (1, 2)}
        return {
            column: found[days][:, KEPT.index(name)] for column, (name, days) in SOURCES.items()
        }

    def _latest(self, slots: np.ndarray, hour: int) -> np.ndarray:
        """Per slot, the values of the cell of `hour`, else of `hour - 1`, else NaN."""
        out = np.full((len(slots), len(KEPT)), np.nan)
        held = slots[slots < len(self.hour)]
        rows = np.flatnonzero(slots < len(self.hour))
        for wanted in (hour - 1, hour):  # the later hour wins
            cell = wanted % CELLS
            hit = self.hour[held, cell] == wanted
            out[rows[hit]] = self.values[held[hit], cell]
        return out

    def forget(self, slots: np.ndarray) -> None:
        """Empty the history of slots whose product starts afresh or is pruned."""
        slots = slots[slots < len(self.hour)]
        self.hour[slots] = _EMPTY

    def _fit(self, capacity: int) -> None:
        old = len(self.hour)
        if capacity <= old:
            return
        new = max(capacity, old + old // 4)
        self.hour = np.concatenate([self.hour, np.full((new - old, CELLS), _EMPTY, np.int32)])
        self.values = np.concatenate([self.values, np.zeros((new - old, CELLS, len(KEPT)))])

    def to_arrays(self) -> Arrays:
        return {"hour": self.hour, "values": self.values}

    @classmethod
    def from_arrays(cls, arrays: Arrays) -> RowHistory:
        history = cls()
        history.hour = arrays["hour"].astype(np.int32, copy=False)
        history.values = arrays["values"].astype(np.float64, copy=False)
        if history.hour.shape != (len(history.hour), CELLS) or history.values.shape != (
            len(history.hour),
            CELLS,
            len(KEPT),
        ):
            raise ValueError("row history cells do not match their stamps")
        return history

    @property
    def nbytes(self) -> int:
        return int(self.hour.nbytes + self.values.nbytes)
