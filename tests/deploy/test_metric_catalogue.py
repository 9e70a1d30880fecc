"""The catalogue's promises beyond naming: bounded labels and series that exist from start."""

from __future__ import annotations

import subprocess
import sys

from _promql import REPO
from prometheus_client.metrics import MetricWrapperBase

import shared.metrics as m

# Every label any metric may carry; each takes values from a small, fixed set.
BOUNDED_LABELS = {
    "outcome",
    "channel",
    "reason",
    "topic",
    "partition",
    "version",
    "model",
    "route",
    "method",
    "status",
}


def test_labels_are_bounded() -> None:
    for obj in vars(m).values():
        if isinstance(obj, MetricWrapperBase):
            extra = set(obj._labelnames) - BOUNDED_LABELS
            assert not extra, f"{obj._name}: unbounded labels {extra}"


def test_bounded_label_values_exist_before_first_use() -> None:
    """rate() and ratios see 0 from the first scrape instead of a missing series."""
    exposition = {
        (s.name, s.labels.get("outcome") or s.labels.get("reason"))
        for metric in (m.INGEST_EVENTS, m.DLQ_MESSAGES, m.WEBHOOK_DELIVERIES)
        for family in metric.collect()
        for s in family.samples
        if s.name.endswith("_total")
    }
    for outcome in m.INGEST_OUTCOMES:
        assert ("pantau_ingest_events_total", outcome) in exposition
    for reason in m.DLQ_REASONS:
        assert ("pantau_dlq_messages_total", reason) in exposition
    for outcome in m.WEBHOOK_OUTCOMES:
        assert ("pantau_webhook_deliveries_total", outcome) in exposition


def test_model_version_and_metrics_server() -> None:
    """Run in a fresh interpreter: it changes the default registry and opens a port."""
    script = """
import socket, urllib.request
import shared.metrics as m

m.set_model_version("v1", 100.0)
m.set_model_version("v2", 200.0)
versions = [s.labels["version"] for f in m.MODEL_INFO.collect() for s in f.samples]
assert versions == ["v2"], versions
assert m.MODEL_CREATED_TIMESTAMP._value.get() == 200.0

m.start_metrics_server(0)  # disabled: no error, nothing listens
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
m.start_metrics_server(port)
m.start_metrics_server(port)  # second start is a no-op, not "address in use"
body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
assert 'pantau_model_info{version="v2"} 1.0' in body, body[:500]
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=REPO
    )
    assert result.returncode == 0, result.stderr


def test_each_metric_belongs_to_one_service_but_the_consumer_loop_s() -> None:
    """Each service exposes only its own metrics, so no rule sees another service's zeros;
    the consumer loop's (lag, readiness, retries) are reported by every Kafka consumer,
    told apart by `job`."""
    defined = [obj for obj in vars(m).values() if isinstance(obj, MetricWrapperBase)]
    owners = [obj for group in m.SERVICE_METRICS.values() for obj in group]
    shared = {o._name for o in owners if owners.count(o) > 1}
    assert shared == {o._name for o in (m.CONSUMER_LAG, m.CONSUMER_READY, m.CONSUMER_RETRIES)}
    assert {o._name for o in owners} == {o._name for o in defined}
    for service, group in m.SERVICE_METRICS.items():
        names = {f.name for f in m.registry(service).collect()}
        assert {o._name for o in group} <= names
        assert not {o._name for o in defined if o not in group} & names, service
    assert m.registry(None) is m.REGISTRY
