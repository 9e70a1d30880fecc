"""Quota and interval planning for the connectors: pure arithmetic on times and budgets.

A platform API grants a daily budget (YouTube: 10,000 units, reset at midnight Pacific
time; TikTok Research: 1,000 requests, reset at midnight UTC). A poller spends it evenly
over what is left of the day: the interval between polls is the time to the reset times
the share of the remaining budget one poll costs, so a day never runs dry early and a
restart or a fault that burnt units is absorbed by the following polls.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from services.sources.checkpoint_dir import saved_int

PACIFIC = ZoneInfo("America/Los_Angeles")
DAY_MS = 86_400_000


def next_midnight_ms(now_ms: int, zone: ZoneInfo | None = None) -> int:
    """The next midnight after `now_ms` in `zone` (UTC when None), as epoch ms.

    Pacific midnight follows daylight saving time (07:00 or 08:00 UTC).
    """
    now = datetime.fromtimestamp(now_ms / 1000, tz=zone or UTC)
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), now.tzinfo)
    return int(midnight.timestamp() * 1000)


def quota_day(now_ms: int, zone: ZoneInfo | None = None) -> str:
    """The quota day `now_ms` falls in (ISO date in `zone`): usage resets when it changes."""
    return datetime.fromtimestamp(now_ms / 1000, tz=zone or UTC).date().isoformat()


@dataclass
class QuotaLedger:
    """Units spent in the current quota day; `spend` rolls over to a new day by itself."""

    units_per_day: int
    zone: ZoneInfo | None = None
    day: str = ""
    used: int = 0
    exhausted: bool = False  # the API said so (it may count more than we do)

    def roll(self, now_ms: int) -> None:
        today = quota_day(now_ms, self.zone)
        if today != self.day:
            self.day, self.used, self.exhausted = today, 0, False

    def spend(self, units: int, now_ms: int) -> None:
        self.roll(now_ms)
        self.used += units

    def remaining(self, now_ms: int) -> int:
        self.roll(now_ms)
        return 0 if self.exhausted else max(0, self.units_per_day - self.used)

    def mark_exhausted(self, now_ms: int) -> None:
        self.roll(now_ms)
        self.exhausted = True
        self.used = max(self.used, self.units_per_day)

    def reset_ms(self, now_ms: int) -> int:
        return next_midnight_ms(now_ms, self.zone)

    def to_dict(self) -> dict[str, object]:
        return {"day": self.day, "used": self.used, "exhausted": self.exhausted}

    def restore(self, saved: dict[str, object]) -> None:
        self.day = str(saved.get("day", ""))
        self.used = saved_int(saved.get("used", 0))
        self.exhausted = bool(saved.get("exhausted", False))


def plan_wait_s(
    ledger: QuotaLedger,
    poll_cost: int,
    now_ms: int,
    min_interval_s: float,
    max_interval_s: float,
) -> float:
    """Seconds until the next poll so that polls of `poll_cost` units last until the reset.

    With no budget left the answer is the time to the reset; otherwise the remaining
    budget is spread evenly over the remaining day, within [min, max] interval.
    """
    to_reset_s = max(0.0, (ledger.reset_ms(now_ms) - now_ms) / 1000)
    remaining = ledger.remaining(now_ms)
    if remaining < max(1, poll_cost):
        return to_reset_s + 1.0
    polls_left = remaining / max(1, poll_cost)
    wait_s = to_reset_s / polls_left
    return min(max(wait_s, min_interval_s), max(max_interval_s, min_interval_s))


def youtube_poll_cost(tracked: int, popular_pages: int, searches_per_poll: float) -> int:
    """Units of one YouTube poll: `videos.list` costs 1 per call (50 ids, or one chart
    page), `search.list` 100 (searches may run every few polls: their average share)."""
    return popular_pages + math.ceil(tracked / 50) + math.ceil(100 * searches_per_poll)


def date_windows(start: date, end: date, max_days: int = 30) -> list[tuple[date, date]]:
    """[start, end] cut into inclusive windows of at most `max_days` days (TikTok's limit
    on `end_date - start_date`), newest first: fresh videos move most."""
    windows = []
    hi = end
    while hi >= start:
        lo = max(start, hi - timedelta(days=max_days - 1))
        windows.append((lo, hi))
        hi = lo - timedelta(days=1)
    return windows


def backoff_s(attempt: int, base_s: float, cap_s: float = 60.0) -> float:
    """Exponential backoff before retry `attempt` (1-based)."""
    return min(cap_s, base_s * 2.0 ** (attempt - 1))
