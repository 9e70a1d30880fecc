"""Drop repeated event ids (producer retries) within an event-time horizon.

Two generations of 64-bit id hashes: ids go into the current one; when the event time
has moved a horizon past the current generation's start, it becomes the previous one
and the old previous is dropped. An id is therefore remembered for at least one horizon
and at most two, and memory is bounded by the events of two horizons. Rotation happens
only at ticks, so the outcome depends on the event sequence, never on batch boundaries,
and a stretch of ticks is passed in constant time however long it is.

A generation is a sorted array of distinct hashes (8 B per id; a Python set took ~48)
plus a small sorted array of recent inserts, merged into it once it reaches an eighth
of its size: a batch costs a binary search per id, and merging stays linear overall.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from services.ingest.sorted_arrays import merge
from services.ingest.state_arrays import Arrays, int_or_none, optional_int

MIN_MERGE_IDS = 65_536


def id_hashes(event_ids: pl.Series) -> np.ndarray:
    """Stable 64-bit hashes of event ids (collisions are ~1e-9 at a billion ids)."""
    hashes: np.ndarray = event_ids.hash(seed=0x5EED).to_numpy()
    return hashes


def _contains(ids: np.ndarray, hashes: np.ndarray) -> np.ndarray:
    """Mask of `hashes` present in the sorted array `ids`."""
    if len(ids) == 0:
        return np.zeros(len(hashes), dtype=bool)
    at = np.minimum(np.searchsorted(ids, hashes), len(ids) - 1)
    present: np.ndarray = ids[at] == hashes
    return present


class Generation:
    """Distinct id hashes: a sorted main array and a sorted buffer of recent inserts."""

    def __init__(self) -> None:
        self.main = np.empty(0, dtype=np.uint64)
        self.recent = np.empty(0, dtype=np.uint64)

    def __len__(self) -> int:
        return len(self.main) + len(self.recent)

    def contains(self, hashes: np.ndarray) -> np.ndarray:
        either: np.ndarray = _contains(self.main, hashes) | _contains(self.recent, hashes)
        return either

    def add(self, hashes: np.ndarray) -> None:
        """Insert hashes (sorted, distinct) that are not in the generation yet."""
        self.recent = merge(self.recent, hashes)
        if len(self.recent) >= max(MIN_MERGE_IDS, len(self.main) // 8):
            self.main = merge(self.main, self.recent)
            self.recent = np.empty(0, dtype=np.uint64)

    @property
    def nbytes(self) -> int:
        return self.main.nbytes + self.recent.nbytes

    @classmethod
    def of(cls, main: np.ndarray, recent: np.ndarray) -> Generation:
        """A generation from saved arrays (each must be sorted and distinct)."""
        generation = cls()
        generation.main, generation.recent = main.astype(np.uint64), recent.astype(np.uint64)
        for ids in (generation.main, generation.recent):
            if (ids[1:] <= ids[:-1]).any():
                raise ValueError("dedup ids are not sorted and distinct")
        return generation


class Deduplicator:
    """Remembers event id hashes of the last one to two horizons."""

    def __init__(self, horizon_ms: int) -> None:
        self.horizon_ms = horizon_ms
        self.current = Generation()
        self.previous = Generation()
        self.generation_start_ms: int | None = None

    def first_seen(self, hashes: np.ndarray) -> np.ndarray:
        """Mask of hashes not seen before (first occurrence inside the batch wins); records them."""
        distinct, first = np.unique(hashes, return_index=True)
        in_current = self.current.contains(distinct)
        seen = in_current | self.previous.contains(distinct)
        self.current.add(distinct[~in_current])
        fresh = np.zeros(len(hashes), dtype=bool)
        fresh[first[~seen]] = True
        return fresh

    def rotations(self, first_tick_ms: int, last_tick_ms: int, grid_ms: int) -> int:
        """How many generations passing the ticks `first_tick_ms..last_tick_ms` would start."""
        start = first_tick_ms if self.generation_start_ms is None else self.generation_start_ms
        return (last_tick_ms - start) // self._step_ms(grid_ms)

    def advance(self, first_tick_ms: int, last_tick_ms: int, grid_ms: int) -> None:
        """Pass every tick from `first_tick_ms` to `last_tick_ms` (`grid_ms` apart) in O(1),
        exactly as passing them one by one: the first tick ever passed starts the first
        generation, and the first tick a horizon or more after a generation's start starts
        the next. Two or more rotations with no ids in between leave both generations empty.
        """
        rotations = self.rotations(first_tick_ms, last_tick_ms, grid_ms)
        if self.generation_start_ms is None:
            self.generation_start_ms = first_tick_ms
        if rotations <= 0:
            return
        for _ in range(min(rotations, 2)):
            self.previous, self.current = self.current, Generation()
        self.generation_start_ms += rotations * self._step_ms(grid_ms)

    def _step_ms(self, grid_ms: int) -> int:
        """Time between rotations: the horizon rounded up to whole ticks (at least one)."""
        return max(-(-self.horizon_ms // grid_ms), 1) * grid_ms

    def to_arrays(self) -> Arrays:
        return {
            "current_main": self.current.main,
            "current_recent": self.current.recent,
            "previous_main": self.previous.main,
            "previous_recent": self.previous.recent,
            "generation_start_ms": optional_int(self.generation_start_ms),
        }

    @classmethod
    def from_arrays(cls, horizon_ms: int, arrays: Arrays) -> Deduplicator:
        dedup = cls(horizon_ms)
        dedup.current = Generation.of(arrays["current_main"], arrays["current_recent"])
        dedup.previous = Generation.of(arrays["previous_main"], arrays["previous_recent"])
        dedup.generation_start_ms = int_or_none(arrays["generation_start_ms"])
        return dedup

    @property
    def nbytes(self) -> int:
        return self.current.nbytes + self.previous.nbytes
