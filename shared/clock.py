"""The wall clock, read only at the edges: cores take the time as an argument."""

from __future__ import annotations

import time


def wall_clock_ms() -> int:
    """Milliseconds since the epoch, as event timestamps count them."""
    return time.time_ns() // 1_000_000
