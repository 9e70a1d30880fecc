"""Growth against the category: each value over its category's median at the tick."""

from __future__ import annotations

import statistics

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from services.ingest.features import group_codes, versus_group

CATEGORIES = [None, "fashion", "kuliner", "kerajinan"]


def versus_category(values: np.ndarray, categories: np.ndarray) -> np.ndarray:
    return versus_group(values, group_codes(categories))


@given(
    st.lists(st.tuples(st.floats(0.01, 1e4), st.sampled_from(CATEGORIES)), min_size=1, max_size=60)
)
def test_each_value_over_the_median_of_its_category(rows: list[tuple[float, str | None]]) -> None:
    values = np.array([v for v, _ in rows])
    categories = np.array([c for _, c in rows], dtype=object)
    got = versus_category(values, categories)
    for value, category, ratio in zip(values, categories, got, strict=True):
        peers = [v for v, c in rows if c == category]
        assert np.isclose(ratio, value / statistics.median(peers), rtol=1e-12)


def test_a_category_lifting_together_looks_ordinary_and_a_lone_riser_does_not() -> None:
    values = np.array([6.0, 5.0, 7.0, 6.5, 1.0, 1.1, 0.9, 8.0])
    categories = np.array(["minuman"] * 4 + ["kerajinan"] * 4, dtype=object)
    ratio = versus_category(values, categories)
    assert np.all(np.abs(ratio[:4] - 1) < 0.25)  # the whole category rose about 6x
    assert ratio[7] > 7  # the lone riser stands out of its flat category


def test_no_rows() -> None:
    assert versus_category(np.array([]), np.array([], dtype=object)).shape == (0,)
