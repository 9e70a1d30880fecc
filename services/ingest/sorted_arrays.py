"""Sorted integer arrays: distinct values and merges, the set operations of the hot path.

`np.unique` hashes before it sorts, which on these arrays costs three to four times a
plain sort and a neighbour comparison.
"""

from __future__ import annotations

import numpy as np


def distinct(values: np.ndarray) -> np.ndarray:
    """The sorted distinct values."""
    return distinct_sorted(np.sort(values))


def distinct_sorted(values: np.ndarray) -> np.ndarray:
    """The distinct values of an array already in ascending order (as `distinct` gives,
    without its sort): the slots of spread rows, which are sorted by slot-led pairs."""
    if len(values) < 2:
        return values
    firsts: np.ndarray = values[np.concatenate([[True], values[1:] != values[:-1]])]
    return firsts


def merge(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Two sorted arrays as one sorted array (the stable sort merges runs in linear time)."""
    return np.sort(np.concatenate([a, b]), kind="stable")


# Below this many rows `np.lexsort` itself is the faster (packing costs a dozen calls).
SHORT_KEYS = 512


def lexsorted_order(keys: list[np.ndarray], short: int = SHORT_KEYS) -> np.ndarray:
    """`np.lexsort(keys)` (last key primary, stable) for integer keys, as one stable
    argsort of the keys packed into an int64 when they are non-negative and fit in 63
    bits together: the same permutation, several times faster than lexsort's passes
    (on more than `short` rows: below, packing costs more calls than it saves)."""
    if len(keys[0]) <= short or min(int(k.min()) for k in keys) < 0:
        return np.lexsort(keys)
    bits = [int(k.max()).bit_length() for k in keys]
    if sum(bits) > 63:
        return np.lexsort(keys)
    packed = np.zeros(len(keys[0]), np.int64)
    shift = 0
    for key, width in zip(keys, bits, strict=True):
        packed |= key.astype(np.int64) << shift
        shift += width
    order: np.ndarray = np.argsort(packed, kind="stable")
    return order
