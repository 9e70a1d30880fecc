"""Operability on a live run: real services, a real broker and a real Prometheus.

One module-scoped run starts `pantau ingest`, `pantau score` and `pantau api` as
subprocesses, Prometheus scraping them every second with the repository's rules, and a
webhook receiver on 127.0.0.1. It produces a simulated event stream (plus a few bad lines),
subscribes the receiver, makes some API calls, and waits until every alert is delivered.
The tests then check what an operator relies on:

* every service's /metrics passes `promtool check metrics`;
* every dashboard panel query and every recording rule returns data from Prometheus
  (the table lands in var/test-artifacts/panels.md);
* the JSON logs let one follow an alert back to the ingest batch that produced its
  features and forward to its webhook deliveries, and never contain a key or a secret.
"""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
import subprocess
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest
from _live import JOBS, Receiver, Stack, wait_for
from _promql import REPO, graph_panels, load_rules, parse
from prometheus_client.parser import text_string_to_metric_families
from test_metric_catalogue import BOUNDED_LABELS

from services.simulator import SCENARIOS, iter_event_lines
from shared.kafka import ensure_topics, make_producer
from shared.metrics import SERVICE_METRICS
from shared.settings import KafkaSettings

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

ARTIFACTS = REPO / "var" / "test-artifacts"
SERVICES = ("ingest", "score", "api")
# Grafana's template variables as "All" selects them. The range covers the whole run, so a
# rate or quantile sees every event of it whenever the queries happen to run.
VARIABLES = {
    "${datasource}": "",
    "$__rate_interval": "5m",
    "$job": "pantau-.*",
    "$instance": ".*",
}
BAD_LINES = [
    b"{not json",
    b'{"event_id": "bad-1", "platform": "tiktok", "product_id": "p", "action": "view"}',
    b'{"event_id": "bad-2", "ts": "yesterday", "platform": "tiktok", "product_id": "p", '
    b'"action": "view"}',
]


@dataclass
class Run:
    stack: Stack
    receiver: Receiver
    api_key: str
    webhook_secret: str
    subscription_id: int
    lines_produced: int
    metrics: dict[str, str]  # service -> its last /metrics exposition
    logs: dict[str, list[dict[str, Any]]]  # service -> its JSON log records


# The `small` scenario cut to 20 products over 3 days with milder peaks: ~25k lines that
# still hold rising products, decoys, duplicates, late and malformed lines, and ~20 alerts.
SCENARIO = dataclasses.replace(
    SCENARIOS["small"],
    days=3,
    n_products=20,
    viral_adopters=(10.0, 60.0),
    viral_peak_x=(8.0, 20.0),
    exogenous_peak_x=(5.0, 15.0),
    bot_peak_x=(5.0, 20.0),
)


def produce_simulation(kafka: KafkaSettings) -> int:
    """SCENARIO as one message per product and simulated hour; returns the lines produced."""
    producer = make_producer(kafka, linger_ms=20, max_request_size=4_000_000)
    produced = 0
    for _hour_ms, lines in iter_event_lines(SCENARIO, 3):
        by_product: dict[bytes, list[bytes]] = defaultdict(list)
        for line in lines:
            try:
                key = str(orjson.loads(line)["product_id"]).encode()
            except (orjson.JSONDecodeError, KeyError, TypeError):
                key = b"malformed"
            by_product[key].append(line)
        for key, group in by_product.items():
            producer.send(kafka.events_topic, key=key, value=b"\n".join(group))
        produced += len(lines)
    for line in BAD_LINES:
        producer.send(kafka.events_topic, key=b"bad", value=line)
    producer.flush()
    producer.close()
    return produced + len(BAD_LINES)


def json_records(text: str, service: str) -> list[dict[str, Any]]:
    records = []
    for line in text.splitlines():
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                raise AssertionError(f"{service} logged a line that is not JSON: {line}") from None
    return records


def drive(stack: Stack, receiver: Receiver) -> Run:
    api_key = stack.pantau("keys", "create", "--name", "ops-test", "--scope", "admin").strip()
    auth = {"Authorization": f"Bearer {api_key}"}
    stack.start_services()
    for name in SERVICES:
        wait_for(lambda n=name: stack.check_alive() or bool(stack.metrics_text(n)), f"{name}")
    api = httpx.Client(base_url=stack.url("api"), headers=auth, timeout=10)
    created = api.post("/v1/subscriptions", json={"url": receiver.url, "min_score": 0.0})
    assert created.status_code == 201, created.text
    subscription = created.json()

    prometheus = shutil.which("prometheus")
    assert prometheus is not None
    stack.start_prometheus(prometheus)
    wait_for(
        lambda: stack.query('count(up{job=~"pantau-.*"} == 1)')["result"][0]["value"][1] == "3",
        "Prometheus to scrape the three services",
    )

    lines = produce_simulation(stack.kafka)
    # Some API traffic while the pipeline works: reads, a caller error and an unknown path.
    for path in ("/v1/trends", "/healthz", "/v1/subscriptions", "/v1/trends?limit=5"):
        assert api.get(path).status_code == 200, path
    assert httpx.get(f"{stack.url('api')}/v1/trends").status_code == 401
    assert api.get("/no/such/path").status_code == 404

    def ingested() -> bool:
        stack.check_alive()
        return stack.metric("ingest", "pantau_ingest_events_total") >= lines

    wait_for(ingested, "ingest to consume every line", timeout_s=90)

    def scored() -> bool:
        emitted = stack.metric("ingest", "pantau_ingest_features_emitted_total")
        return 0 < emitted == stack.metric("score", "pantau_scored_rows_total")

    wait_for(scored, "the scorer to score every feature row", timeout_s=60)
    last_tick = max(
        r["tick_ms"]
        for r in json_records(stack.log("ingest"), "ingest")
        if r["msg"] == "features emitted"
    )

    def stored() -> bool:
        items = api.get("/v1/trends", params={"limit": 50}).json()["items"]
        return max((i["tick_ms"] for i in items), default=0) >= last_tick

    wait_for(stored, "the API to store the last tick's scores", timeout_s=60)

    def delivered() -> bool:
        fired = stack.metric("api", "pantau_alerts_fired_total")
        pending = stack.metric("api", "pantau_webhook_outbox_pending")
        return fired > 0 and pending == 0 and len(receiver.requests) >= fired

    wait_for(delivered, "every alert to reach the webhook receiver", timeout_s=60)
    assert api.get("/v1/trends").status_code == 200
    time.sleep(3)  # a few more scrapes and rule evaluations after the last event
    metrics = {name: stack.metrics_text(name) for name in SERVICES}
    return Run(
        stack, receiver, api_key, subscription["secret"], subscription["id"], lines, metrics, {}
    )


@pytest.fixture(scope="module")
def run(bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    if shutil.which("prometheus") is None or shutil.which("promtool") is None:
        pytest.skip("prometheus/promtool not installed (Debian package `prometheus`)")
    prefix = f"t{uuid.uuid4().hex[:8]}"
    kafka = KafkaSettings(
        bootstrap=bootstrap,
        partitions=4,
        events_topic=f"{prefix}.events",
        features_topic=f"{prefix}.features",
        scores_topic=f"{prefix}.scores",
        dlq_topic=f"{prefix}.events.dlq",
    )
    ensure_topics(kafka)
    stack = Stack(kafka, tmp_path_factory.mktemp("live"))
    receiver = Receiver()
    try:
        result = drive(stack, receiver)
        yield result
    finally:
        stack.stop()
        receiver.stop()
        keep = ARTIFACTS / "live-logs"
        keep.mkdir(parents=True, exist_ok=True)
        for name in (*SERVICES, "prometheus"):
            path = stack.work / f"{name}.log"
            if path.exists():
                shutil.copy(path, keep / f"{name}.log")


@pytest.fixture(scope="module")
def logs(run: Run) -> dict[str, list[dict[str, Any]]]:
    """Every service's log records, read after the processes were stopped."""
    run.stack.stop()
    return {name: json_records(run.stack.log(name), name) for name in SERVICES}


# -- metrics ---------------------------------------------------------------------------------


@pytest.mark.parametrize("service", SERVICES)
def test_promtool_check_metrics_on_live_output(run: Run, service: str) -> None:
    promtool = shutil.which("promtool")
    assert promtool is not None
    exposition = run.metrics[service]
    assert "pantau_" in exposition
    result = subprocess.run(
        [promtool, "check", "metrics"],
        input=exposition,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and not (result.stdout + result.stderr).strip(), (
        f"{service}:\n{result.stdout}{result.stderr}"
    )


def test_live_series_are_catalogued_and_bounded(run: Run) -> None:
    """Only catalogue metrics, only bounded labels, and no entity id in any label value."""
    for service, exposition in run.metrics.items():
        own = {metric._name for metric in SERVICE_METRICS[service]}
        exposed = set()
        for family in text_string_to_metric_families(exposition):
            if not family.name.startswith("pantau_"):
                continue
            exposed.add(family.name)
            for sample in family.samples:
                assert set(sample.labels) <= BOUNDED_LABELS | {"le"}, sample
                for value in sample.labels.values():
                    assert "sku-" not in value and run.api_key not in value, sample
        assert exposed == own, f"{service} exposes {sorted(exposed ^ own)} wrongly"
    routes = {
        s.labels["route"]
        for f in text_string_to_metric_families(run.metrics["api"])
        for s in f.samples
        if s.name == "pantau_http_requests_total"
    }
    assert "<unmatched>" in routes and "/no/such/path" not in routes


def substitute(expr: str) -> str:
    for variable, value in VARIABLES.items():
        expr = expr.replace(variable, value)
    return expr


def finite_values(data: dict[str, Any]) -> list[tuple[dict[str, str], float]]:
    """(labels, value) of each returned series whose value is a number (not NaN/Inf)."""
    assert data["resultType"] == "vector", data
    values = [(r["metric"], float(r["value"][1])) for r in data["result"]]
    return [(labels, v) for labels, v in values if math.isfinite(v)]


def describe(values: list[tuple[dict[str, str], float]]) -> str:
    """A short rendering of a result for the artifact table."""
    if not values:
        return "**no data**"
    shown = []
    for labels, value in sorted(values, key=lambda lv: sorted(lv[0].items()))[:4]:
        tag = ",".join(f"{k}={v}" for k, v in sorted(labels.items()) if k != "__name__")
        shown.append(f"{tag + ' ' if tag else ''}{value:.4g}")
    more = f" (+{len(values) - 4} series)" if len(values) > 4 else ""
    return "; ".join(shown) + more


def elsewhere(expr: str) -> set[str]:
    """The services not run here (the retrain schedule, connectors) whose metrics `expr`
    reads: its panel can have no data on this stack (promtool tests its queries)."""
    services = set()
    for use in parse(expr).uses:
        for service, metrics in SERVICE_METRICS.items():
            if any(use.name.startswith(m._name) for m in metrics):
                services.add(service)
    return services - set(SERVICES)


def test_every_dashboard_panel_and_recording_rule_returns_data(run: Run) -> None:
    rows: list[tuple[str, str, str]] = []
    empty: list[str] = []
    for panel in graph_panels():
        for target in panel["targets"]:
            expr = substitute(target["expr"])
            values = finite_values(run.stack.query(expr))
            not_run = elsewhere(expr)
            shown = describe(values) if values or not not_run else f"not run: {', '.join(not_run)}"
            rows.append((panel["title"], expr, shown))
            if not values and not not_run:
                empty.append(f"panel {panel['title']!r}: {expr}")
    for rule in load_rules():
        if "record" not in rule:
            continue
        for expr in (rule["expr"], rule["record"]):
            values = finite_values(run.stack.query(expr))
            rows.append((f"rule {rule['record']}", expr, describe(values)))
            if not values:
                empty.append(f"rule {rule['record']}: {expr}")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    table = ["| Panel | Query | Value |", "|---|---|---|"]
    for title, expr, value in rows:
        query = " ".join(expr.split()).replace("|", "\\|")
        table.append(f"| {title} | `{query}` | {value} |")
    (ARTIFACTS / "panels.md").write_text(
        "# Dashboard panels and recording rules on a live run\n\n"
        f"Template variables: {VARIABLES}\n\n" + "\n".join(table) + "\n"
    )
    assert not empty, "queries without data:\n" + "\n".join(empty)


def test_every_job_is_up_and_counted_everything(run: Run) -> None:
    up = {r["metric"]["job"]: r["value"][1] for r in run.stack.query("up")["result"]}
    assert up == dict.fromkeys(JOBS, "1")
    events = finite_values(run.stack.query("sum(pantau_ingest_events_total)"))
    assert events and events[0][1] == run.lines_produced
    bad = finite_values(run.stack.query("sum(pantau_dlq_messages_total)"))
    assert bad and bad[0][1] >= len(BAD_LINES)
    lag = run.stack.query("max by (job, topic) (pantau_consumer_lag_messages)")["result"]
    k = run.stack.kafka
    assert {(r["metric"]["job"], r["metric"]["topic"]) for r in lag} == {
        ("pantau-ingest", k.events_topic),
        ("pantau-score", k.features_topic),
        ("pantau-api", k.scores_topic),
    }
    fired = finite_values(run.stack.query("sum(pantau_alerts_fired_total)"))
    sent = finite_values(run.stack.query('sum(pantau_webhook_deliveries_total{outcome="success"})'))
    assert fired and sent and fired[0][1] == sent[0][1] == len(run.receiver.requests) > 0


def test_only_the_expected_alerts_go_pending(run: Run) -> None:
    """The run replays last year's events with the baseline scorer, so ingest is rightly
    'behind real time' and the model has no training time; nothing else may page, and in
    particular no service is blamed for a metric only another service sets."""
    active = {
        (r["metric"]["alertname"], r["metric"].get("job"))
        for r in run.stack.query("ALERTS")["result"]
    }
    expected = {("PipelineStalled", "pantau-ingest"), ("ModelStale", "pantau-score")}
    assert active <= expected, f"unexpected alerts: {sorted(active - expected)}"


# -- logs ------------------------------------------------------------------------------------


def test_an_alert_can_be_followed_through_the_logs(
    run: Run, logs: dict[str, list[dict[str, Any]]]
) -> None:
    by_msg: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for records in logs.values():
        for record in records:
            by_msg[record["msg"]].append(record)
    alerts = by_msg["alert fired"]
    assert alerts, "no alert was logged"
    batches = {r["batch_id"]: r for r in by_msg["batch ingested"]}
    received = {h["webhook-id"]: body for h, body in run.receiver.requests}
    for alert in alerts:
        partition, tick = alert["partition"], alert["tick_ms"]
        scored = [
            r
            for r in by_msg["batch scored"]
            if r["partition"] == partition
            and r["tick_min_ms"] <= tick <= r["tick_max_ms"]
            and r["model_version"] == alert["model_version"]
        ]
        assert scored, f"no scored batch for {alert}"
        emitted = [
            r
            for r in by_msg["features emitted"]
            if r["partition"] == partition and r["tick_ms"] == tick
        ]
        assert len(emitted) == 1, f"features of tick {tick} on partition {partition}: {emitted}"
        batch = batches[emitted[0]["batch_id"]]
        assert batch["partition"] == partition and batch["accepted"] > 0
        assert batch["first_offset"] <= batch["last_offset"]
        attempts = [r for r in by_msg["webhook.attempt"] if r["alert_id"] == alert["alert_id"]]
        assert attempts, f"no delivery logged for alert {alert['alert_id']}"
        for attempt in attempts:
            assert attempt["subscription_id"] == run.subscription_id
            assert attempt["outcome"] == "success" and attempt["status_code"] == 200
            assert received[attempt["msg_id"]]["data"]["id"] == alert["alert_id"]


def test_logs_never_contain_keys_or_secrets(
    run: Run, logs: dict[str, list[dict[str, Any]]]
) -> None:
    assert sum(len(records) for records in logs.values()) > 0
    secret_body = run.webhook_secret.removeprefix("whsec_")
    for name in SERVICES:
        text = run.stack.log(name)
        assert run.api_key not in text, f"{name} logged the API key"
        assert secret_body not in text, f"{name} logged the webhook secret"
        # Subscriber URLs often carry a token in their path or query: ids only in logs.
        assert run.receiver.url not in text, f"{name} logged the webhook URL"
