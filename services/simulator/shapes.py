"""Named shape families of a viral rise: how posting about a product climbs to its peak.

The self-exciting cascade of `dynamics` gives one shape: a quiet start, then a take-off
a few days long. Real rises differ, and a detector that learned one shape waits for it.
A family prescribes the posting rate from onset to peak instead; views then follow
through the same response kernel, so each family keeps the organic audience (creators,
provinces, platforms, conversion) and differs only in the curve and its length:

* `exponential`: a constant growth rate all the way to the peak;
* `logistic`: slow start, steep middle, flattening into the peak (an S curve);
* `stepwise`: flat stretches joined by jumps (a new wave of posters each time);
* `stalled`: climbs, stalls for a while at a fraction of the peak, then climbs again.

After the peak every family relaxes exponentially, over a time comparable to its rise.
"""

from __future__ import annotations

import numpy as np

SHAPE_FAMILIES = ("exponential", "logistic", "stepwise", "stalled")


def rise_curve(
    rng: np.random.Generator, family: str, rise_h: float, hours: int, growth_x: float
) -> np.ndarray:
    """Relative posting rate for `hours` hours from onset: 1 at the peak (`rise_h` after
    onset), 1 / `growth_x` at onset, relaxing after the peak."""
    t = np.arange(hours, dtype=float)
    r = max(rise_h, 1.0)
    log_g = np.log(growth_x)
    if family == "exponential":
        up = np.exp(log_g * (t / r - 1.0))
    elif family == "logistic":
        mid, width = r * rng.uniform(0.5, 0.7), r / rng.uniform(7.0, 11.0)
        s = 1.0 / (1.0 + np.exp(-(t - mid) / width))
        s0, s1 = 1.0 / (1.0 + np.exp(mid / width)), 1.0 / (1.0 + np.exp(-(r - mid) / width))
        up = np.exp(-log_g) + (1.0 - np.exp(-log_g)) * (s - s0) / (s1 - s0)
    elif family == "stepwise":
        steps = int(rng.integers(3, 6))
        at = np.sort(rng.uniform(0.0, r, steps - 1))
        level = np.searchsorted(at, t, side="right")  # 0 .. steps - 1 jumps before t
        level = np.where(t >= r, steps, level)
        up = np.exp(log_g * (level / steps - 1.0))
    elif family == "stalled":
        stall_start, stall_end = r * rng.uniform(0.2, 0.4), r * rng.uniform(0.55, 0.75)
        stall_level = rng.uniform(0.3, 0.6)  # of the rise, in log terms
        first = stall_level * np.clip(t / stall_start, 0.0, 1.0)
        second = (1.0 - stall_level) * np.clip((t - stall_end) / (r - stall_end), 0.0, 1.0)
        up = np.exp(log_g * (first + second - 1.0))
    else:
        raise ValueError(f"unknown shape family {family!r}; one of {', '.join(SHAPE_FAMILIES)}")
    decay_h = max(r, 24.0) * rng.uniform(0.5, 1.2)
    down = np.exp(-(t - r) / decay_h)
    return np.where(t <= r, up, down)
