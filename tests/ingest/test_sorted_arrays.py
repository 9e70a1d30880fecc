"""The sorted-array helpers agree with NumPy's set operations."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from services.ingest.sorted_arrays import distinct, distinct_sorted, lexsorted_order, merge

values = st.lists(st.integers(0, 2**64 - 1), max_size=200).map(
    lambda xs: np.array(xs, dtype=np.uint64)
)


@given(values)
def test_distinct_is_numpy_unique(a: np.ndarray) -> None:
    got = distinct(a)
    assert got.dtype == a.dtype
    np.testing.assert_array_equal(got, np.unique(a))


@given(values)
def test_distinct_of_a_sorted_array_is_numpy_unique(a: np.ndarray) -> None:
    got = distinct_sorted(np.sort(a))
    assert got.dtype == a.dtype
    np.testing.assert_array_equal(got, np.unique(a))


@given(values, values)
def test_merge_of_sorted_arrays_is_sorted_concatenation(a: np.ndarray, b: np.ndarray) -> None:
    a, b = np.sort(a), np.sort(b)
    np.testing.assert_array_equal(merge(a, b), np.sort(np.concatenate([a, b])))


@settings(max_examples=50)
@given(
    st.integers(1, 4).flatmap(
        lambda k: st.lists(
            st.tuples(*[st.one_of(st.integers(0, 40), st.integers(-3, 2**40)) for _ in range(k)]),
            max_size=60,
        )
    )
)
def test_lexsorted_order_is_lexsort(rows: list[tuple[int, ...]]) -> None:
    """Packed where the keys fit, np.lexsort where they do not (too wide or negative)."""
    if not rows:
        return
    keys = [np.array(column, dtype=np.int64) for column in zip(*rows, strict=True)]
    np.testing.assert_array_equal(lexsorted_order(keys, short=0), np.lexsort(keys))
