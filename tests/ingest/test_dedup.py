"""Dedup in sorted arrays remembers exactly what a set of ids per generation would."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from services.ingest import dedup
from services.ingest.dedup import Deduplicator

HORIZON_MS = 10


class SetReference:
    """The contract in plain Python: first sighting within the current or previous generation,
    generations advanced tick by tick."""

    def __init__(self) -> None:
        self.current: set[int] = set()
        self.previous: set[int] = set()
        self.start: int | None = None
        self.rotations = 0

    def first_seen(self, hashes: list[int]) -> list[bool]:
        out = []
        for h in hashes:
            out.append(h not in self.current and h not in self.previous)
            self.current.add(h)
        return out

    def advance(self, tick_ms: int) -> None:
        if self.start is None:
            self.start = tick_ms
        elif tick_ms - self.start >= HORIZON_MS:
            self.previous, self.current, self.start = self.current, set(), tick_ms
            self.rotations += 1


# (ids, ticks passed after them): up to 40 ticks, so one step may span several horizons.
batches = st.lists(
    st.tuples(st.lists(st.integers(0, 300), max_size=60), st.integers(0, 40)), max_size=40
)


@settings(max_examples=200, deadline=None)
@given(batches, st.sampled_from([1, 3, 10, 25]))
def test_same_as_sets(steps: list[tuple[list[int], int]], grid_ms: int) -> None:
    """A stretch of ticks passed at once leaves what passing them one by one leaves."""
    original = dedup.MIN_MERGE_IDS
    dedup.MIN_MERGE_IDS = 16  # merge often, so the buffer and the main array both matter
    try:
        fast, reference, passed = Deduplicator(HORIZON_MS), SetReference(), -grid_ms
        for ids, ticks in steps:
            hashes = np.array(ids, dtype=np.uint64)
            assert fast.first_seen(hashes).tolist() == reference.first_seen(ids)
            if ticks == 0:
                continue
            first, last = passed + grid_ms, passed + ticks * grid_ms
            before = reference.rotations
            for tick in range(first, last + 1, grid_ms):
                reference.advance(tick)
            assert fast.rotations(first, last, grid_ms) == reference.rotations - before
            fast.advance(first, last, grid_ms)
            assert fast.generation_start_ms == reference.start
            passed = last
        assert fast.nbytes == 8 * (len(reference.current) + len(reference.previous))
    finally:
        dedup.MIN_MERGE_IDS = original
