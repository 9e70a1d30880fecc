"""Labels against hand-computed cases (3 h horizon, hourly rows, so sums are easy to check)."""

from __future__ import annotations

import dataclasses

import polars as pl
import pytest

from services.model.labels import (
    DAY_MS,
    HOUR_MS,
    HeadsUpSpec,
    LabelSpec,
    heads_up_label,
    label,
    trailing_daily_mean,
)
from shared.features import FEATURE_COLUMNS

D = 20_000 * DAY_MS  # a UTC midnight
SPEC = LabelSpec(  # each rule alone; `sustain` has a test of its own
    horizon_ms=3 * HOUR_MS,
    growth_x=2.0,
    min_events=10.0,
    rise_x=1.0,
    min_quality=0.5,
    hold=0.5,
    sustain=0.0,
)


def rows(events: list[float], hours: list[int] | None = None, **cols: float) -> pl.DataFrame:
    """One product's rows at D + h hours; events_5m as given, views = events by default."""
    hours = hours if hours is not None else list(range(len(events)))
    base = dict.fromkeys(FEATURE_COLUMNS, 0.0) | {"hours_since_first_seen": 1000.0} | cols
    data = [
        base
        | {
            "product_id": "p",
            "tick_ms": D + h * HOUR_MS,
            "events_5m": e,
            "view_5m": cols.get("view_5m", e),
        }
        for h, e in zip(hours, events, strict=True)
    ]
    return pl.DataFrame(data)


def test_future_sum_trailing_mean_and_label_by_hand() -> None:
    # events_7d = 28: a daily mean of 4 to 4.7, so viral needs F >= 9.4 and F >= 10.
    out = label(rows([1, 1, 1, 10, 10, 10, 1], events_7d=28.0), SPEC)
    # At D the window is 7 days; at D + h, [ceil_day(t - 7 d), t) is 6 days + h long.
    assert out["daily_mean"].to_list() == pytest.approx(
        [4.0] + [28 * 24 / (144 + h) for h in range(1, 7)]
    )
    # F(t) = events of the rows in (t, t + 3 h]; unknown once t + 3 h passes the last row.
    assert out["future_events"].to_list() == [12, 21, 30, 21, None, None, None]
    assert out["label"].to_list() == [1, 1, 1, 1, None, None, None]


def test_floor_growth_and_rise_each_block_the_label() -> None:
    low = label(rows([1, 1, 1, 3, 3, 3], events_7d=7.0), SPEC)  # F = 5 < floor 10
    assert low["label"].to_list()[:3] == [0, 0, 0]
    normal = label(rows([1, 1, 1, 10, 10, 10], events_7d=7 * 20.0), SPEC)  # 2 × 20 > F
    assert normal["label"].to_list()[:3] == [0, 0, 0]
    behind = label(rows([1, 1, 1, 10, 10, 10], events_7d=28.0, events_24h=100.0), SPEC)
    assert behind["label"].to_list()[:3] == [0, 0, 0]  # F < rise_x × the last 24 h


def test_missing_rows_count_as_no_events() -> None:
    # Rows at 0, 1, 5, 6 h: the horizon of the 1 h row (1, 4 h] holds no rows, so F = 0.
    out = label(rows([5, 5, 50, 50], hours=[0, 1, 5, 6], events_7d=28.0), SPEC)
    assert out["future_events"].to_list() == [5, 0, None, None]


def test_quality_views_without_interactions_do_not_count() -> None:
    # The product's own week: 1 like per 10 views. Its future: views only (bots) -> 0.
    history = {"view_7d": 99.0, "like_7d": 10.0, "events_7d": 28.0}
    assert label(rows([1, 1, 1, 10, 10, 10], **history), SPEC)["label"][0] == 0
    # The same views with likes at the usual rate -> 1.
    liked = rows([1, 1, 1, 10, 10, 10], **history).with_columns(like_5m=pl.col("events_5m") / 10)
    assert label(liked, SPEC)["label"][0] == 1
    # A views-only source (no interactions in 7 d) is judged on volume alone -> 1.
    assert label(rows([1, 1, 1, 10, 10, 10], events_7d=28.0), SPEC)["label"][0] == 1


@pytest.mark.parametrize(
    ("hour", "seen_h", "expected"),
    [
        (0, 1000.0, 70 / 7),  # midnight: the window is exactly 7 days
        (12, 1000.0, 70 / 6.5),  # noon: [ceil_day(t - 7 d), t) is 6.5 days
        (12, 48.0, 70 / 2),  # seen for 2 days: the mean is over those 2 days
        (12, 1.0, 70 * 4),  # seen for 1 h: at least 6 h are assumed (70 per 6 h)
    ],
)
def test_trailing_daily_mean(hour: int, seen_h: float, expected: float) -> None:
    frame = rows([0], hours=[hour], events_7d=70.0, hours_since_first_seen=seen_h)
    assert frame.select(trailing_daily_mean()).item() == pytest.approx(expected)


def test_rows_of_other_products_do_not_mix() -> None:
    a = rows([1, 1, 1, 10, 10, 10], events_7d=28.0)
    b = rows([100, 100, 100, 100, 100, 100], events_7d=28.0).with_columns(product_id=pl.lit("q"))
    out = label(pl.concat([b, a]).sort("tick_ms"), SPEC)
    assert out.filter(pl.col("product_id") == "p")["future_events"].to_list()[:3] == [12, 21, 30]
    assert out.filter(pl.col("product_id") == "q")["future_events"].to_list()[:3] == [300] * 3


def test_a_burst_that_fades_within_the_horizon_is_not_viral() -> None:
    # F(0) = 30 + 1 + 1: big enough, but the later half of (0, 3 h] holds 2 of the 32.
    burst = rows([1, 30, 1, 1, 1, 1], events_7d=28.0)
    assert label(burst, SPEC)["label"][0] == 0
    assert label(burst, dataclasses.replace(SPEC, hold=0.0))["label"][0] == 1
    # The same volume still rising through the horizon is viral.
    assert label(rows([1, 8, 12, 12, 1, 1], events_7d=28.0), SPEC)["label"][0] == 1


@pytest.mark.parametrize(("seen_h", "expected"), [(5.0, None), (23.0, None), (24.0, 1)])
def test_a_product_seen_less_than_a_day_has_no_label(seen_h: float, expected: int | None) -> None:
    # 4 events in its one known day: F(0) = 12 is viral once the label may judge it.
    frame = rows([1, 1, 1, 10, 10, 10], events_7d=4.0, hours_since_first_seen=seen_h)
    assert label(frame, SPEC)["label"][0] == expected


def test_a_rise_gone_by_the_next_horizon_is_not_viral() -> None:
    sustain = dataclasses.replace(SPEC, sustain=0.5)
    # F(0) = 30 holds through (0, 3 h], but (3 h, 6 h] carries 3 of it: a one-day wonder.
    gone = rows([1, 10, 10, 10, 1, 1, 1, 1, 1, 1], events_7d=28.0)
    assert label(gone, SPEC)["label"][0] == 1
    assert label(gone, sustain)["label"][0] == 0
    # The same rise still there over the next horizon is viral.
    lasting = rows([1, 10, 10, 10, 10, 10, 10, 1, 1, 1], events_7d=28.0)
    assert label(lasting, sustain)["label"][0] == 1
    # The outcome is known only once both horizons are in the data.
    assert label(lasting, SPEC)["label"][4] is not None
    assert label(lasting, sustain)["label"][4] is None


def test_heads_up_label_is_the_base_label_turning_on_within_the_stretch() -> None:
    # Base labels (3 h horizon): 0 0 1 1 1 1 0 0 0 0 0 then unknown. Within 2 h: 1 when
    # the base label is 1 at it or at a row up to 2 h later; 0 only when the stretch and
    # its look-ahead are known.
    events = [1, 1, 1, 1, 1, 10, 10, 10, 1, 1, 1, 1, 1, 1]
    base = label(rows(events, events_7d=28.0), SPEC)
    spec = HeadsUpSpec(base=SPEC, within_ms=2 * HOUR_MS)
    out = heads_up_label(base, spec)
    b = base["label"].to_list()
    assert b == [0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, None, None, None]
    expected = [1 if 1 in b[i : i + 3] else 0 for i in range(len(b))]
    known = [i + 5 <= len(b) - 1 for i in range(len(b))]  # 2 h within + 3 h base horizon
    want = [
        None if b[i] is None else (1 if expected[i] else (0 if known[i] else None))
        for i in range(len(b))
    ]
    assert out["label_heads_up"].to_list() == want
    assert want == [1, 1, 1, 1, 1, 1, 0, 0, 0] + [None] * 5
    assert spec.horizon_ms == 5 * HOUR_MS and spec.lookahead_ms == 5 * HOUR_MS
