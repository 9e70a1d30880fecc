"""Webhook knobs, overridable by `PANTAU_WEBHOOK_*` environment variables."""

from __future__ import annotations

import ipaddress
import re

from pydantic import field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")


def parse_duration_s(text: str) -> float:
    """`"500ms"`, `"0.2s"`, `"5m"`, `"2h"`, `"1d"` -> seconds."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"invalid duration {text!r} (expected e.g. 0s, 500ms, 5m, 2h, 1d)")
    return float(match.group(1)) * _UNIT_S[match.group(2)]


def parse_schedule_s(text: str) -> tuple[float, ...]:
    """Comma-separated durations; entry i is the wait before attempt i+1."""
    delays = tuple(parse_duration_s(part) for part in text.split(",") if part.strip())
    if not delays:
        raise ValueError("retry schedule needs at least one entry")
    return delays


def parse_cidrs(text: str) -> tuple[IPNetwork, ...]:
    """Comma-separated CIDRs (host bits must be zero), e.g. `127.0.0.0/8,::1/128`."""
    return tuple(ipaddress.ip_network(part.strip()) for part in text.split(",") if part.strip())


class WebhookSettings(BaseSettings):
    """Delivery, retry and egress settings of the webhook dispatcher."""

    model_config = SettingsConfigDict(env_prefix="PANTAU_WEBHOOK_", extra="ignore")

    # CIDRs checked before the SSRF deny list (e.g. an internal relay, or 127.0.0.0/8 in tests).
    allow_cidrs: str = ""
    # Wait before each attempt; its length is the number of attempts.
    retry_schedule: str = "0s,5s,5m,30m,2h,5h,10h,10h"
    # Each wait is multiplied by a random factor in [1 - jitter_ratio, 1 + jitter_ratio] so
    # receivers coming back after an outage are not hit by every retry at the same instant.
    jitter_ratio: float = 0.2
    request_timeout_s: float = 10.0
    # An endpoint is a receiver's origin (scheme, host, port), shared by its subscriptions.
    max_in_flight_per_endpoint: int = 4
    workers: int = 16
    # After this many consecutive failed attempts an endpoint's circuit opens: it is skipped
    # for `breaker_cool_off_s`, then probed with one request. Endpoints that failed their
    # last attempt send one request at a time and together hold at most half the workers.
    breaker_failures: int = 5
    breaker_cool_off_s: float = 30.0
    poll_interval_s: float = 1.0
    # A claimed delivery belongs to its dispatcher for this long; a dispatcher that died
    # mid-delivery leaves rows that any dispatcher reclaims once the lease runs out. It must
    # outlast one request (connect + write + read timeouts), or a slow attempt could be
    # sent a second time by another dispatcher.
    lease_s: float = 60.0
    disable_after_failing_s: float = 5 * 86400.0
    # After a rotation, deliveries carry signatures by the old and the new secret this long.
    secret_rotation_overlap_s: float = 86400.0

    @field_validator("allow_cidrs")
    @classmethod
    def _check_cidrs(cls, value: str) -> str:
        parse_cidrs(value)
        return value

    @field_validator("retry_schedule")
    @classmethod
    def _check_schedule(cls, value: str) -> str:
        parse_schedule_s(value)
        return value

    @model_validator(mode="after")
    def _check_bounds(self) -> WebhookSettings:
        if not 0 <= self.jitter_ratio < 1:
            raise ValueError("jitter_ratio must be in [0, 1)")
        if min(self.max_in_flight_per_endpoint, self.workers, self.breaker_failures) < 1:
            raise ValueError(
                "max_in_flight_per_endpoint, workers and breaker_failures must be >= 1"
            )
        if self.breaker_cool_off_s < 0:
            raise ValueError("breaker_cool_off_s must be >= 0")
        if self.lease_s <= 3 * self.request_timeout_s:
            raise ValueError("lease_s must exceed 3 * request_timeout_s")
        return self

    @property
    def allow_networks(self) -> tuple[IPNetwork, ...]:
        return parse_cidrs(self.allow_cidrs)

    @property
    def retry_delays_s(self) -> tuple[float, ...]:
        return parse_schedule_s(self.retry_schedule)
