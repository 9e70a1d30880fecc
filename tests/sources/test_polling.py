"""Quota days, resets and interval planning: pure arithmetic, checked at the edges that
matter (daylight saving time, a spent budget, the 30-day window)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.sources.polling import (
    PACIFIC,
    QuotaLedger,
    date_windows,
    next_midnight_ms,
    plan_wait_s,
    youtube_poll_cost,
)


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def test_pacific_midnight_follows_daylight_saving_time() -> None:
    assert next_midnight_ms(ms("2026-07-01T12:00:00"), PACIFIC) == ms("2026-07-02T07:00:00")
    assert next_midnight_ms(ms("2026-12-01T12:00:00"), PACIFIC) == ms("2026-12-02T08:00:00")
    # 03:00 UTC on 1 December is still 30 November in California.
    assert next_midnight_ms(ms("2026-12-01T03:00:00"), PACIFIC) == ms("2026-12-01T08:00:00")
    assert next_midnight_ms(ms("2026-12-01T23:59:59")) == ms("2026-12-02T00:00:00")


def test_ledger_rolls_over_at_the_reset() -> None:
    ledger = QuotaLedger(10_000, PACIFIC)
    ledger.spend(9_000, ms("2026-12-01T07:59:00"))  # 23:59 Pacific
    assert ledger.remaining(ms("2026-12-01T07:59:30")) == 1_000
    ledger.mark_exhausted(ms("2026-12-01T07:59:40"))
    assert ledger.remaining(ms("2026-12-01T07:59:50")) == 0
    assert ledger.remaining(ms("2026-12-01T08:00:01")) == 10_000  # a new quota day


def test_no_budget_waits_for_the_reset() -> None:
    ledger = QuotaLedger(100, None)
    now = ms("2026-12-01T18:00:00")
    ledger.spend(99, now)
    assert plan_wait_s(ledger, 5, now, 0, 3_600) == pytest.approx(6 * 3_600 + 1)


def test_youtube_poll_cost() -> None:
    assert youtube_poll_cost(tracked=120, popular_pages=4, searches_per_poll=0.5) == 4 + 3 + 50
    assert youtube_poll_cost(tracked=0, popular_pages=0, searches_per_poll=0) == 0


@settings(deadline=None, max_examples=60)
@given(
    used=st.integers(0, 10_000),
    cost=st.integers(20, 500),
    seconds_into_day=st.integers(0, 86_399),
)
def test_planned_polls_never_outspend_the_day(used: int, cost: int, seconds_into_day: int) -> None:
    """Polling at the planned interval until the reset spends at most the budget left."""
    ledger = QuotaLedger(10_000, None)
    start = ms("2026-12-01T00:00:00") + seconds_into_day * 1000
    ledger.spend(used, start)
    reset = next_midnight_ms(start)
    now, spent = start, 0
    while True:
        now += int(plan_wait_s(ledger, cost, now, 0, 86_400) * 1000)
        if now >= reset:
            break
        ledger.spend(cost, now)
        spent += cost
    assert spent <= max(0, 10_000 - used)


@given(st.dates(date(2020, 1, 1), date(2030, 1, 1)), st.integers(1, 400))
def test_windows_cover_the_range_within_30_days(end: date, days: int) -> None:
    start = date.fromordinal(end.toordinal() - days + 1)
    windows = date_windows(start, end)
    assert windows[0][1] == end and windows[-1][0] == start
    for lo, hi in windows:
        assert 0 <= (hi - lo).days < 30
    for (lo, _), (_, hi_next) in itertools.pairwise(windows):
        assert (lo - hi_next).days == 1  # adjacent, no gap, no overlap
