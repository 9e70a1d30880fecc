"""The endpoint gate: per-endpoint concurrency and the circuit breaker, on a fake clock."""

from __future__ import annotations

import pytest

from services.api.webhooks.endpoints import EndpointGate, endpoint_of

EP = "http://127.0.0.1:9000"


def gate(**overrides: float) -> EndpointGate:
    params = {"max_in_flight": 4, "max_failing_in_flight": 2, "failures_to_open": 3}
    return EndpointGate(**{**params, "cool_off_s": 10.0, **overrides})  # type: ignore[arg-type]


def test_subscriptions_to_one_receiver_share_an_endpoint() -> None:
    assert endpoint_of("http://Example.ID/a?x=1") == endpoint_of("http://example.id:80/b")
    assert endpoint_of("https://example.id/a") == "https://example.id:443"
    assert endpoint_of("http://127.0.0.1:9000/a") != endpoint_of("http://127.0.0.1:9001/a")


def test_a_healthy_endpoint_gets_its_limit() -> None:
    g = gate()
    for expected in (4, 3, 2, 1):
        assert g.allowance(EP, 0.0) == expected
        g.started(EP)
    assert g.allowance(EP, 0.0) == 0
    g.finished(EP, False, 0.0)
    assert g.allowance(EP, 0.0) == 1 and g.in_flight() == 3


def test_failures_open_the_circuit_then_one_probe_closes_it() -> None:
    g = gate()
    for _ in range(2):
        g.started(EP)
        g.finished(EP, True, 0.0)
        assert g.allowance(EP, 0.0) == 1  # suspect: one request at a time
    g.started(EP)
    assert g.allowance(EP, 0.0) == 0
    g.finished(EP, True, 1.0)  # third consecutive failure: open until 11.0
    assert g.allowance(EP, 10.9) == 0 and g.open_circuits(10.9) == 1
    assert g.allowance(EP, 11.0) == 1  # the probe
    g.started(EP)
    assert g.allowance(EP, 11.0) == 0
    g.finished(EP, True, 12.0)  # the probe failed: another cool-off
    assert g.allowance(EP, 21.9) == 0 and g.allowance(EP, 22.0) == 1
    g.started(EP)
    g.finished(EP, False, 22.5)  # the probe got through: closed, full allowance
    assert g.allowance(EP, 22.5) == 4 and g.open_circuits(22.5) == 0


def test_failing_endpoints_together_hold_a_bounded_share() -> None:
    g = gate(max_failing_in_flight=2)
    endpoints = [f"http://10.0.0.{i}:80" for i in range(4)]
    for endpoint in endpoints:  # each failed once: suspect
        g.started(endpoint)
        g.finished(endpoint, True, 0.0)
    g.started(endpoints[0])
    g.started(endpoints[1])
    assert [g.allowance(e, 0.0) for e in endpoints] == [0, 0, 0, 0]
    assert g.allowance("http://10.0.0.9:80", 0.0) == 4  # a healthy one is unaffected


def test_no_request_made_leaves_the_breaker_alone() -> None:
    g = gate()
    g.started(EP)
    g.finished(EP, True, 0.0)
    g.started(EP)
    g.finished(EP, None, 0.0)
    assert g.allowance(EP, 0.0) == 1  # still suspect


def test_bad_limits_are_refused() -> None:
    with pytest.raises(ValueError):
        gate(failures_to_open=0)
