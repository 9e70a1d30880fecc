"""Closed spread rows updated in place by the hours entering and leaving the windows equal
a signed sum of all of them (values and dtypes), for presence and counted dimensions."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.ingest.spread import KEY_BITS, Rows, _delta_rows, _updated, aggregate


def hour_rows(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    slots = draw(st.lists(st.integers(0, 5), min_size=0, max_size=12))
    keys = draw(st.lists(st.integers(0, 4), min_size=len(slots), max_size=len(slots)))
    pair = (np.array(slots, np.uint64) << np.uint64(KEY_BITS)) | np.array(keys, np.uint64)
    return aggregate(pair, np.arange(1, len(pair) + 1, dtype=np.int64))


@st.composite
def windows(draw: st.DrawFn) -> tuple[list, set[int], set[int], set[int], set[int]]:
    hours = [hour_rows(draw) for _ in range(6)]
    old_day = set(draw(st.lists(st.integers(0, 5), min_size=1, unique=True)))
    old_six = {h for h in old_day if draw(st.booleans())}
    moved = draw(st.lists(st.integers(0, 5), min_size=1, max_size=2, unique=True))
    day, six = set(old_day), set(old_six)
    for h in moved:
        if h in day:
            if h in six or draw(st.booleans()):
                day.discard(h)
                six.discard(h)
            else:
                six.add(h)
        else:
            day.add(h)
            if draw(st.booleans()):
                six.add(h)
    return hours, old_day, old_six, day, six


@pytest.mark.parametrize("counted", [False, True])
@settings(max_examples=30, deadline=None)
@given(windows())
def test_updated_equals_signed_combine(counted: bool, case: tuple) -> None:
    hours, old_day, old_six, day, six = case

    def rows(h: int, d24: int, d6: int) -> Rows:
        pair, n = hours[h]
        return _delta_rows(pair, n if counted else None, d24, d6)

    closed = Rows.combine([rows(h, 1, int(h in old_six)) for h in old_day], counted, signed=True)
    closed = closed.take(closed.h24 > 0)
    moved = (day ^ old_day) | (six ^ old_six)
    deltas = [
        rows(h, int(h in day) - int(h in old_day), int(h in six) - int(h in old_six))
        for h in sorted(moved)
    ]
    expected = Rows.combine([closed, *deltas], counted, signed=True)
    expected = expected.take(expected.h24 > 0)
    got = _updated(closed, deltas)
    for name, want in expected.to_arrays().items():
        have = got.to_arrays()[name]
        assert have.dtype == want.dtype, name
        np.testing.assert_array_equal(have, want, err_msg=name)
