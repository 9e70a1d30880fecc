"""A product's own published values a day and two days earlier (the history columns of
`shared.features`). Pure: NumPy arrays per slot, no I/O.

Per slot, rings of hourly cells: the cell of hour h holds the values of the slot's last
published row with a tick in (h - 1 h, h], stamped with h. A row at tick t reads the
cells of A = the whole hour at or before t - 24 h and of A - 1 h (its latest row in
(A - 2 h, A]), and the same 24 h earlier. Those lie at most 26 and 50 hours before the
hour the tick writes (ticks of that hour read after its first tick wrote it), so a ring
of `LONG_CELLS` hours holds the stamps and the values read two days back, and one of
`SHORT_CELLS` the values read only a day back (valid where the stamp of the same hour
is: written together, and not yet overwritten at a day's reach). A stamp that is not the
hour asked for is a cell of an older hour, i.e. no row then.
"""

from __future__ import annotations

import numpy as np

from services.ingest.config import DAY_MS, HOUR_MS
from services.ingest.state_arrays import Arrays
from shared.features import FEATURE_COLUMNS, HISTORY_COLUMNS

LONG_CELLS = 52
SHORT_CELLS = 28
_DAYS_BACK = {"_two_days_before": 2, "_day_before": 1}  # suffixes, the longer first
# History column -> (the column it reads, days back).
SOURCES: dict[str, tuple[str, int]] = {
    column: next((column.removesuffix(s), d) for s, d in _DAYS_BACK.items() if column.endswith(s))
    for column in HISTORY_COLUMNS
}
# The columns cells keep: those read two days back in the long ring, the rest in the short.
LONG_KEPT = tuple(dict.fromkeys(name for name, days in SOURCES.values() if days == 2))
SHORT_KEPT = tuple(dict.fromkeys(n for n, _ in SOURCES.values() if n not in LONG_KEPT))
_LONG_AT = [FEATURE_COLUMNS.index(name) for name in LONG_KEPT]
_SHORT_AT = [FEATURE_COLUMNS.index(name) for name in SHORT_KEPT]
_EMPTY = np.iinfo(np.int32).min  # the stamp of a cell no row has written


class RowHistory:
    """The hourly cells of every slot (as many slots as the catalog has)."""

    def __init__(self, capacity: int) -> None:
        self.hour = np.full((capacity, LONG_CELLS), _EMPTY, np.int32)  # hours since the epoch
        self.long = np.zeros((capacity, LONG_CELLS, len(LONG_KEPT)))
        self.short = np.zeros((capacity, SHORT_CELLS, len(SHORT_KEPT)))

    def record(self, slots: np.ndarray, tick_ms: int, numbers: np.ndarray) -> None:
        """Keep the values of the rows `slots` published at `tick_ms` (one row per slot;
        `numbers` one row per `FEATURE_COLUMNS` column, as `TickRows` holds them); a later
        tick of the same hour overwrites them."""
        hour = -(-tick_ms // HOUR_MS)  # the hour h with tick_ms in (h - 1 h, h]
        self.hour[slots, hour % LONG_CELLS] = hour
        self.long[slots, hour % LONG_CELLS] = numbers[_LONG_AT].T
        self.short[slots, hour % SHORT_CELLS] = numbers[_SHORT_AT].T

    def lookup(self, slots: np.ndarray, tick_ms: int) -> dict[str, np.ndarray]:
        """The history columns of rows of `slots` at `tick_ms`: NaN where none was
        published in the two hours read."""
        a = (tick_ms - DAY_MS) // HOUR_MS
        hours = np.array([a, a - 1, a - 24, a - 25])  # per day back, the later hour first
        stamps = self.hour.reshape(-1).take(slots[:, None] * LONG_CELLS + hours % LONG_CELLS)
        hit = stamps == hours
        found: dict[tuple[str, int], np.ndarray] = {}
        for days, later in ((1, 0), (2, 2)):
            hour = np.where(hit[:, later], hours[later], hours[later + 1])
            missing = ~(hit[:, later] | hit[:, later + 1])
            rings = [(self.long, LONG_KEPT, LONG_CELLS)]
            if days == 1:
                rings.append((self.short, SHORT_KEPT, SHORT_CELLS))
            for ring, kept, cells in rings:
                values = ring.reshape(-1, len(kept)).take(slots * cells + hour % cells, axis=0)
                values[missing] = np.nan
                found |= {(name, days): values[:, i] for i, name in enumerate(kept)}
        return {column: found[source] for column, source in SOURCES.items()}

    def forget(self, slots: np.ndarray) -> None:
        """Empty the history of slots whose product starts afresh or is pruned."""
        self.hour[slots] = _EMPTY

    def grow(self, capacity: int) -> None:
        """Room for slots up to `capacity`, the new ones empty."""
        extra = RowHistory(capacity - len(self.hour))
        self.hour = np.concatenate([self.hour, extra.hour])
        self.long = np.concatenate([self.long, extra.long])
        self.short = np.concatenate([self.short, extra.short])

    def to_arrays(self) -> Arrays:
        return {"hour": self.hour, "long": self.long, "short": self.short}

    @classmethod
    def from_arrays(cls, arrays: Arrays) -> RowHistory:
        """The history saved by `to_arrays`."""
        history = cls(0)
        history.hour = np.ascontiguousarray(arrays["hour"], np.int32)
        history.long = np.ascontiguousarray(arrays["long"], np.float64)
        history.short = np.ascontiguousarray(arrays["short"], np.float64)
        capacity = len(history.hour)
        shapes = {
            "hour": (history.hour.shape, (capacity, LONG_CELLS)),
            "long": (history.long.shape, (capacity, LONG_CELLS, len(LONG_KEPT))),
            "short": (history.short.shape, (capacity, SHORT_CELLS, len(SHORT_KEPT))),
        }
        if any(got != want for got, want in shapes.values()):
            raise ValueError(f"row history arrays do not match {capacity} slots")
        return history

    @property
    def nbytes(self) -> int:
        return int(self.hour.nbytes + self.long.nbytes + self.short.nbytes)
