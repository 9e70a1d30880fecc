"""Closed spread rows updated in place by the hours entering and leaving the windows equal
a signed sum of all of them (values and dtypes), for presence and counted dimensions; the
features moved by the flags those rows flipped equal features filled from the new rows."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.ingest.spread import (
    KEY_BITS,
    PLATFORMS_SORTED,
    Rows,
    SlotSpread,
    _delta_rows,
    _updated,
    aggregate,
    platform_lists,
)


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


def closed_and_deltas(case: tuple, counted: bool) -> tuple[Rows, list[Rows]]:
    """The closed rows over the old hours, and the signed rows of the hours that moved."""
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
    return closed, deltas


@pytest.mark.parametrize("counted", [False, True])
@settings(max_examples=30, deadline=None)
@given(windows())
def test_updated_equals_signed_combine(counted: bool, case: tuple) -> None:
    closed, deltas = closed_and_deltas(case, counted)
    expected = Rows.combine([closed, *deltas], counted, signed=True)
    expected = expected.take(expected.h24 > 0)
    got, _ = _updated(closed, deltas)
    for name, want in expected.to_arrays().items():
        have = got.to_arrays()[name]
        assert have.dtype == want.dtype, name
        np.testing.assert_array_equal(have, want, err_msg=name)


@settings(max_examples=40, deadline=None)
@given(windows())
def test_flipped_features_equal_a_fill(case: tuple) -> None:
    """Creator counts and platform bits moved by the flipped flags (five minutes past an
    hour, when an hour leaves, and at the hour, when one enters) equal a fill."""
    closed, deltas = closed_and_deltas(case, counted=False)
    updated, change = _updated(closed, deltas)
    no_regions = Rows.empty(counted=True)
    got = SlotSpread.zeros(6)
    got.fill(closed, no_regions, closed)
    got.flip_creators(change)
    got.flip_platforms(change)
    expected = SlotSpread.zeros(6)
    expected.fill(updated, no_regions, updated)
    for name, want in expected.to_arrays().items():
        np.testing.assert_array_equal(got.to_arrays()[name], want, err_msg=name)


def test_platform_lists_name_each_bit_in_name_order() -> None:
    masks = np.array([0, 1, 5, 2 ** len(PLATFORMS_SORTED) - 1, 256, 5], np.int32)
    lists = platform_lists(masks)
    assert lists.dtype == pl.List(pl.String)
    expected = [[p for b, p in enumerate(PLATFORMS_SORTED) if m >> b & 1] for m in masks]
    assert lists.to_list() == expected
    assert platform_lists(masks[:0]).to_list() == []
