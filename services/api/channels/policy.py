"""When a seller may be messaged, and how fast a channel may send. Pure; no I/O.

Sellers keep Western Indonesian Time: nothing arrives in the quiet hours (default
21:00 to 06:00 WIB) except the morning digest, which is itself sent at its hour.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

WIB = timezone(timedelta(hours=7), "WIB")


@dataclass(frozen=True)
class QuietHours:
    start_hour: int = 21
    end_hour: int = 6

    def is_quiet(self, moment: datetime) -> bool:
        hour = moment.astimezone(WIB).hour
        if self.start_hour == self.end_hour:
            return False
        if self.start_hour < self.end_hour:
            return self.start_hour <= hour < self.end_hour
        return hour >= self.start_hour or hour < self.end_hour

    def next_allowed(self, moment: datetime) -> datetime:
        """`moment` itself outside the quiet hours, else the end of this quiet spell."""
        if not self.is_quiet(moment):
            return moment
        return next_hour_wib(moment, self.end_hour)


def next_hour_wib(moment: datetime, hour: int) -> datetime:
    """The first `hour`:00 WIB strictly after `moment`, in UTC."""
    local = moment.astimezone(WIB)
    at = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if at <= local:
        at += timedelta(days=1)
    return at.astimezone(UTC)


def day_start_wib(moment: datetime) -> datetime:
    """Midnight WIB of `moment`'s day, in UTC: where a subscriber's daily cap resets."""
    local = moment.astimezone(WIB)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


class TokenBucket:
    """`rate_per_s` sends per second on average, bursts up to `burst`. Not thread-safe."""

    def __init__(self, rate_per_s: float, burst: float, now_s: float) -> None:
        self.rate_per_s = rate_per_s
        self.burst = burst
        self._tokens = burst
        self._at_s = now_s

    def available(self, now_s: float) -> int:
        self._tokens = min(self.burst, self._tokens + (now_s - self._at_s) * self.rate_per_s)
        self._at_s = now_s
        return int(self._tokens)

    def take(self, n: int, now_s: float) -> None:
        self.available(now_s)
        self._tokens -= n
