"""Prometheus config, rules and the metric catalogue, checked by promtool itself.

promtool ships in Debian's `prometheus` package (`make system-deps` installs it); the tests
only skip where it is missing, and CI has it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from _promql import (
    PROMETHEUS_DIR,
    REPO,
    RULE_FILES,
    catalogue,
    dashboard,
    load_rules,
    parse,
    recording_rule_names,
    series_names,
)

CONFIGS = [PROMETHEUS_DIR / "prometheus.yml", PROMETHEUS_DIR / "prometheus.compose.yml"]
UNIT_TESTS = sorted((PROMETHEUS_DIR / "tests").glob("*.yml"))
ALERTS = {
    "PipelineStalled",
    "ConsumerRecovering",
    "ConsumerLagGrowing",
    "DLQRateHigh",
    "ModelStale",
    "WebhookFailureRateHigh",
    "SellerDeliveryFailureHigh",
    "SellerOutboxStuck",
    "APIErrorRateHigh",
    "CheckpointStale",
    "ServiceDown",
    "ConnectorStalled",
    "ConnectorFailing",
}
# Series Prometheus itself adds for every target; the only ones rules may use besides ours.
BUILTIN_SERIES = {"up"}

# Observes one sample of every metric in a separate interpreter, so the default registry of
# the test process (which other tests read) is left untouched.
_EXPOSITION_SCRIPT = """
import sys
from prometheus_client import generate_latest
from prometheus_client.metrics import MetricWrapperBase
import shared.metrics as m

for metric in vars(m).values():
    if not isinstance(metric, MetricWrapperBase):
        continue
    if metric._labelnames:
        metric = metric.labels(*["0" for _ in metric._labelnames])
    kind = metric._type
    if kind == "counter":
        metric.inc()
    elif kind == "gauge":
        metric.set(1)
    else:
        metric.observe(0.5)
sys.stdout.write(generate_latest().decode())
"""


@pytest.fixture(scope="module")
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.skip("promtool not installed (Debian package `prometheus`; `make system-deps`)")
    return path


def _run(cmd: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=300, cwd=REPO)
    assert result.returncode == 0, f"{' '.join(cmd)} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.name)
def test_promtool_check_config(promtool: str, config: Path) -> None:
    _run([promtool, "check", "config", str(config)])


def test_promtool_check_rules(promtool: str) -> None:
    _run([promtool, "check", "rules", *map(str, RULE_FILES)])


def test_promtool_rule_unit_tests(promtool: str) -> None:
    assert UNIT_TESTS, "no promtool unit tests in deploy/prometheus/tests"
    result = _run([promtool, "test", "rules", *map(str, UNIT_TESTS)])
    assert "FAILED" not in result.stdout


def test_promtool_check_metrics(promtool: str) -> None:
    """The exposition of every catalogue metric passes promtool's naming lint."""
    exposition = subprocess.run(
        [sys.executable, "-c", _EXPOSITION_SCRIPT],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        check=True,
    ).stdout
    for name in catalogue():
        assert f"\n{name}" in exposition, f"{name} has no sample in the exposition"
    _run([promtool, "check", "metrics"], stdin=exposition)


def test_scrape_jobs() -> None:
    """The dashboard and rules rely on these job names; the compose file on their ports."""
    expected = {
        "pantau-ingest": "127.0.0.1:9101",
        "pantau-score": "127.0.0.1:9102",
        "pantau-api": "127.0.0.1:8000",
        "pantau-connect": "127.0.0.1:9104",
        "pantau-retrain": "127.0.0.1:9106",
    }
    config = yaml.safe_load(CONFIGS[0].read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == set(expected)
    for name, target in expected.items():
        assert jobs[name]["static_configs"][0]["targets"][0] == target
    assert jobs["pantau-connect"]["static_configs"][0]["targets"][1] == "127.0.0.1:9105"
    assert jobs["pantau-api"]["metrics_path"] == "/metrics"
    assert config["global"]["scrape_interval"] == "5s"
    compose = yaml.safe_load(CONFIGS[1].read_text())
    assert [j["job_name"] for j in compose["scrape_configs"]] == list(jobs)
    assert compose["rule_files"] == config["rule_files"]


def test_every_alert_is_complete() -> None:
    alerts = {rule["alert"]: rule for rule in load_rules() if "alert" in rule}
    assert set(alerts) == ALERTS
    for name, rule in alerts.items():
        assert rule.get("for"), f"{name}: no `for`"
        assert rule.get("keep_firing_for"), f"{name}: no `keep_firing_for`"
        assert rule["labels"]["severity"] in {"critical", "warning"}, name
        for key in ("summary", "description", "runbook"):
            assert rule["annotations"].get(key, "").strip(), f"{name}: no {key} annotation"


def test_every_alert_has_firing_and_quiet_unit_tests() -> None:
    firing: set[str] = set()
    quiet: set[str] = set()
    for path in UNIT_TESTS:
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                (firing if check.get("exp_alerts") else quiet).add(check["alertname"])
    assert firing >= ALERTS, f"never tested firing: {sorted(ALERTS - firing)}"
    assert quiet >= ALERTS, f"never tested quiet: {sorted(ALERTS - quiet)}"


def test_rules_use_catalogue_metrics_and_rate_counters() -> None:
    """Catches typos promtool cannot see (an unknown metric is just an empty result)."""
    allowed, counters = series_names(catalogue())
    known = allowed | recording_rule_names() | BUILTIN_SERIES
    for rule in load_rules():
        name = rule.get("record") or rule["alert"]
        for use in parse(rule["expr"]).uses:
            assert use.name in known, f"{name}: unknown metric {use.name}"
            if use.name in counters:
                assert use.inside_rate, f"{name}: counter {use.name} outside rate()/increase()"


def test_retraining_panels_on_a_schedules_series(promtool: str, tmp_path: Path) -> None:
    """The Retraining row's queries, evaluated by promtool on a schedule's series: a run
    promoted at 60 s, one kept at 600 s. The last run shown is the latest (kept, at
    600 s), the promotion's age counts from 60 s, and both models' AP show."""
    exprs, row = {}, None
    for panel in dashboard()["panels"]:
        if panel["type"] == "row":
            row = panel["title"]
        elif row == "Retraining":
            [target] = panel["targets"]
            expr = target["expr"].replace("$job", "pantau-.*").replace("$instance", ".*")
            exprs[panel["title"]] = expr
    where = 'job="pantau-retrain", instance="retrain:9106"'
    ran = "pantau_retrain_last_run_timestamp_seconds"
    ap = "pantau_retrain_window_average_precision"
    cases = {
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {"series": f'{ran}{{{where}, outcome="promoted"}}', "values": "0 60x20"},
                    {"series": f'{ran}{{{where}, outcome="kept"}}', "values": "0x9 600x10"},
                    {"series": f'{ran}{{{where}, outcome="refused"}}', "values": "0x20"},
                    {"series": f'{ran}{{{where}, outcome="failed"}}', "values": "0x20"},
                    {"series": f'{ap}{{{where}, model="candidate"}}', "values": "0.42x20"},
                    {"series": f'{ap}{{{where}, model="promoted"}}', "values": "0.31x20"},
                ],
                "promql_expr_test": [
                    {"expr": exprs["Last retrain"], "eval_time": "0m", "exp_samples": []},
                    {
                        "expr": exprs["Last retrain"],
                        "eval_time": "5m",
                        "exp_samples": [{"labels": '{outcome="promoted"}', "value": 60_000}],
                    },
                    {
                        "expr": exprs["Last retrain"],
                        "eval_time": "15m",
                        "exp_samples": [{"labels": '{outcome="kept"}', "value": 600_000}],
                    },
                    {"expr": exprs["Last promotion"], "eval_time": "0m", "exp_samples": []},
                    {
                        "expr": exprs["Last promotion"],
                        "eval_time": "15m",
                        "exp_samples": [{"labels": "{}", "value": 900 - 60}],
                    },
                    {
                        "expr": exprs["Retrain window AP"],
                        "eval_time": "15m",
                        "exp_samples": [
                            {"labels": '{model="candidate"}', "value": 0.42},
                            {"labels": '{model="promoted"}', "value": 0.31},
                        ],
                    },
                ],
            }
        ]
    }
    path = tmp_path / "retraining_panels_test.yml"
    path.write_text(yaml.safe_dump(cases))
    result = _run([promtool, "test", "rules", str(path)])
    assert "SUCCESS" in result.stdout


def test_connectors_panels_on_a_pollers_series(promtool: str, tmp_path: Path) -> None:
    """The Connectors row's quota and schedule queries on a connector's series: a poll
    every 5 minutes until 20 min, then a spent quota that plans the next poll for the
    reset at 1 h. The quota share, the time since the last good poll and the wait until
    the planned one read as an operator expects."""
    exprs, row = {}, None
    for panel in dashboard()["panels"]:
        if panel["type"] == "row":
            row = panel["title"]
        elif row == "Connectors":
            for target in panel["targets"]:
                expr = target["expr"].replace("$job", "pantau-.*").replace("$instance", ".*")
                exprs[(panel["title"], target["legendFormat"])] = expr
    where = 'job="pantau-connect", instance="connect:9104"'
    since = exprs[("Connector poll schedule", "{{instance}} since last ok poll")]
    until = exprs[("Connector poll schedule", "{{instance}} until next poll")]
    instance = '{instance="connect:9104"}'
    cases = {
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {
                        "series": f"pantau_connect_quota_used{{{where}}}",
                        "values": "0+125x20 2500x40",
                    },
                    {"series": f"pantau_connect_quota_limit{{{where}}}", "values": "10000x60"},
                    {
                        "series": f"pantau_connect_last_poll_timestamp_seconds{{{where}}}",
                        "values": "0 60x4 300x5 600x5 900x5 1200x40",
                    },
                    {
                        "series": f"pantau_connect_next_poll_timestamp_seconds{{{where}}}",
                        "values": "0 300x4 600x5 900x5 1200x5 3600x40",
                    },
                ],
                "promql_expr_test": [
                    {
                        "expr": exprs[("Connector quota used", "{{instance}}")],
                        "eval_time": "30m",
                        "exp_samples": [{"labels": instance, "value": 0.25}],
                    },
                    {
                        "expr": since,
                        "eval_time": "30m",
                        "exp_samples": [{"labels": instance, "value": 1800 - 1200}],
                    },
                    {
                        "expr": until,
                        "eval_time": "30m",
                        "exp_samples": [{"labels": instance, "value": 3600 - 1800}],
                    },
                    {"expr": since, "eval_time": "0m", "exp_samples": []},  # no good poll yet
                ],
            }
        ]
    }
    path = tmp_path / "connectors_panels_test.yml"
    path.write_text(yaml.safe_dump(cases))
    result = _run([promtool, "test", "rules", str(path)])
    assert "SUCCESS" in result.stdout
