"""Window sums read from the rings equal plain int64 sums of the cells each window reads,
with small counts (summed in uint32) and with counts whose sums pass 2**32 (summed wide),
also in rings restored from their arrays."""

from __future__ import annotations

import numpy as np
import pytest

from services.ingest.config import DAY_MS, HOUR_MS, MINUTE_MS, WindowConfig
from services.ingest.features import WINDOWS_MS
from services.ingest.windows import N_ACTIONS, CountWindows

TICK_MS = 1_772_409_600_000 + 3 * DAY_MS + 5 * HOUR_MS + 35 * MINUTE_MS


def reference(windows: CountWindows, slots: np.ndarray, tick_ms: int) -> np.ndarray:
    cells = np.concatenate([ring.counts[slots] for ring in windows.rings], axis=1)
    return np.stack(
        [
            cells[:, windows._cells(tick_ms, length)].sum(axis=1, dtype=np.int64)
            for length in WINDOWS_MS.values()
        ]
    )


@pytest.mark.parametrize("restored", [False, True])
@pytest.mark.parametrize("largest", [5, 2**32 - 1])
def test_window_sums_equal_int64_sums(largest: int, restored: bool) -> None:
    rng = np.random.default_rng(3)
    windows = CountWindows(WindowConfig(), capacity=16)
    events = 400
    ts_ms = TICK_MS - rng.integers(0, 8 * DAY_MS, events)
    slots = rng.integers(0, 16, events)
    actions = rng.integers(0, N_ACTIONS, events)
    n = rng.integers(1, 4, events)
    n[::7] = largest  # some cells near the uint32 limit: their window sums pass it
    order = np.argsort(ts_ms)
    windows.add(slots[order], ts_ms[order], actions[order], n[order])
    if restored:
        windows = CountWindows.from_arrays(WindowConfig(), windows.to_arrays())
    read = np.array([0, 3, 5, 7, 11, 15])
    got = windows.windows(read, TICK_MS, list(WINDOWS_MS.values()))
    expected = reference(windows, read, TICK_MS)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, expected)
    if largest > 2**31:
        assert expected.max() >= 2**32  # the wide path was needed
