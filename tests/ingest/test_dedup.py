"""Dedup in sorted arrays remembers exactly what a set of ids per generation would."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from services.ingest import dedup
from services.ingest.dedup import Deduplicator

HORIZON_MS = 10


class SetReference:
    """The contract in plain Python: first sighting within the current or previous generation."""

    def __init__(self) -> None:
        self.current: set[int] = set()
        self.previous: set[int] = set()
        self.start: int | None = None

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


batches = st.lists(
    st.tuples(st.lists(st.integers(0, 300), max_size=60), st.integers(0, 6)), max_size=40
)


@settings(max_examples=200, deadline=None)
@given(batches)
def test_same_as_sets(steps: list[tuple[list[int], int]]) -> None:
    original = dedup.MIN_MERGE_IDS
    dedup.MIN_MERGE_IDS = 16  # merge often, so the buffer and the main array both matter
    try:
        fast, reference, tick = Deduplicator(HORIZON_MS), SetReference(), 0
        for ids, step in steps:
            hashes = np.array(ids, dtype=np.uint64)
            assert fast.first_seen(hashes).tolist() == reference.first_seen(ids)
            tick += step
            fast.advance(tick)
            reference.advance(tick)
        assert fast.nbytes == 8 * (len(reference.current) + len(reference.previous))
    finally:
        dedup.MIN_MERGE_IDS = original
