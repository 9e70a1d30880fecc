"""Fair delivery: how many requests each receiving endpoint may have in flight. Pure; no I/O.

An endpoint is a receiver's origin (scheme, host, port): every subscription pointing at
one receiver shares its allowance, so five subscriptions to a hanging receiver hold the
workers of one endpoint, not five. A healthy endpoint may have `max_in_flight` requests
in flight. After a failed attempt (timeout, connection error, HTTP error) it is
suspect: one request at a time, and suspect endpoints together hold at most
`max_failing_in_flight` workers. After `failures_to_open` consecutive failures its
circuit opens: nothing is sent for `cool_off_s`, then a single probe; a success closes
the circuit, a failure opens it for another cool-off. Deliveries to an open circuit stay
pending (their retry schedule is not spent), so nothing is lost while it is skipped.

State is per dispatcher process: each replica learns about an endpoint on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}


def endpoint_of(url: str) -> str:
    """The origin a subscription URL points at, e.g. `https://hooks.example.id:443`."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or _DEFAULT_PORTS.get(scheme, 0)
    except ValueError:  # a malformed port: the SSRF check refuses it without a request
        port = 0
    return f"{scheme}://{(parts.hostname or '').lower()}:{port}"


@dataclass
class _Endpoint:
    in_flight: int = 0
    failures: int = 0  # consecutive failed attempts; 0 is healthy
    open_until_s: float | None = None  # monotonic time the circuit stays open until


class EndpointGate:
    """Per-endpoint concurrency limit and circuit breaker. Not thread-safe: callers lock."""

    def __init__(
        self,
        max_in_flight: int,
        max_failing_in_flight: int,
        failures_to_open: int,
        cool_off_s: float,
    ) -> None:
        if min(max_in_flight, max_failing_in_flight, failures_to_open) < 1 or cool_off_s < 0:
            raise ValueError("limits and failures_to_open must be >= 1, cool_off_s >= 0")
        self.max_in_flight = max_in_flight
        self.max_failing_in_flight = max_failing_in_flight
        self.failures_to_open = failures_to_open
        self.cool_off_s = cool_off_s
        self._endpoints: dict[str, _Endpoint] = {}

    def allowance(self, endpoint: str, now_s: float) -> int:
        """How many more requests to `endpoint` may start now."""
        state = self._endpoints.get(endpoint)
        if state is None or state.failures == 0:
            return self.max_in_flight - (state.in_flight if state else 0)
        if state.open_until_s is not None and now_s < state.open_until_s:
            return 0
        failing_room = self.max_failing_in_flight - self.failing_in_flight()
        return max(0, min(1 - state.in_flight, failing_room))

    def started(self, endpoint: str) -> None:
        self._endpoints.setdefault(endpoint, _Endpoint()).in_flight += 1

    def finished(self, endpoint: str, failed: bool | None, now_s: float) -> None:
        """A request ended: `failed` True or False moves the breaker, None (no request was
        made, e.g. the address was refused) only frees the slot."""
        state = self._endpoints[endpoint]
        state.in_flight -= 1
        if failed is False:
            state.failures, state.open_until_s = 0, None
        elif failed:
            state.failures += 1
            if state.failures >= self.failures_to_open:
                state.open_until_s = now_s + self.cool_off_s
        if state.in_flight == 0 and state.failures == 0:
            del self._endpoints[endpoint]  # healthy and idle: nothing to remember

    def in_flight(self) -> int:
        return sum(s.in_flight for s in self._endpoints.values())

    def failing_in_flight(self) -> int:
        return sum(s.in_flight for s in self._endpoints.values() if s.failures)

    def open_circuits(self, now_s: float) -> int:
        return sum(
            1
            for s in self._endpoints.values()
            if s.open_until_s is not None and now_s < s.open_until_s
        )
