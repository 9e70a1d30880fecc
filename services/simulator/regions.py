"""Indonesia's 38 provinces (ISO 3166-2:ID) with the weights that place creators and viewers.

Weights are the 2020 census population (millions) tilted by internet use, so Java and the
big Sumatran and Sulawesi provinces dominate traffic while Papua and Maluku stay thin, as
they do on real platforms. The UTC offset (WIB +7, WITA +8, WIT +9) is what an event's
local RFC 3339 timestamp carries.
"""

from __future__ import annotations

import numpy as np

# (code, population in millions, internet-use tilt, UTC offset in hours)
_PROVINCES: tuple[tuple[str, float, float, int], ...] = (
    ("ID-AC", 5.3, 0.8, 7),
    ("ID-SU", 14.8, 0.9, 7),
    ("ID-SB", 5.5, 0.9, 7),
    ("ID-RI", 6.4, 0.95, 7),
    ("ID-KR", 2.1, 1.2, 7),
    ("ID-JA", 3.5, 0.85, 7),
    ("ID-SS", 8.5, 0.85, 7),
    ("ID-BB", 1.5, 0.95, 7),
    ("ID-BE", 2.0, 0.8, 7),
    ("ID-LA", 9.0, 0.8, 7),
    ("ID-JK", 10.6, 1.6, 7),
    ("ID-JB", 48.3, 1.15, 7),
    ("ID-BT", 11.9, 1.1, 7),
    ("ID-JT", 36.5, 1.0, 7),
    ("ID-YO", 3.7, 1.3, 7),
    ("ID-JI", 40.7, 1.05, 7),
    ("ID-BA", 4.3, 1.2, 8),
    ("ID-NB", 5.3, 0.75, 8),
    ("ID-NT", 5.3, 0.55, 8),
    ("ID-KB", 5.4, 0.8, 7),
    ("ID-KT", 2.7, 0.85, 7),
    ("ID-KS", 4.1, 0.9, 8),
    ("ID-KI", 3.8, 1.1, 8),
    ("ID-KU", 0.7, 0.9, 8),
    ("ID-SA", 2.6, 0.9, 8),
    ("ID-ST", 3.0, 0.75, 8),
    ("ID-SN", 9.1, 0.95, 8),
    ("ID-SG", 2.6, 0.8, 8),
    ("ID-GO", 1.2, 0.8, 8),
    ("ID-SR", 1.4, 0.65, 8),
    ("ID-MA", 1.8, 0.6, 9),
    ("ID-MU", 1.3, 0.6, 9),
    ("ID-PA", 1.0, 0.55, 9),
    ("ID-PB", 0.56, 0.55, 9),
    ("ID-PD", 0.6, 0.55, 9),
    ("ID-PE", 1.4, 0.3, 9),
    ("ID-PS", 0.5, 0.4, 9),
    ("ID-PT", 1.4, 0.35, 9),
)

REGION_CODES: tuple[str, ...] = tuple(p[0] for p in _PROVINCES)
N_REGIONS = len(REGION_CODES)
UTC_OFFSET_H = np.array([p[3] for p in _PROVINCES], dtype=np.int64)

_w = np.array([p[1] * p[2] for p in _PROVINCES])
REGION_WEIGHTS: np.ndarray = _w / _w.sum()
REGION_CDF: np.ndarray = np.cumsum(REGION_WEIGHTS)


def draw_regions(rng: np.random.Generator, n: int) -> np.ndarray:
    """Province indices drawn by online-population weight (a viewer or creator anywhere)."""
    idx = np.searchsorted(REGION_CDF, rng.random(n), side="right")
    return np.minimum(idx, N_REGIONS - 1)
