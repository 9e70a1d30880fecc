"""Rules every panel of the Grafana dashboard follows, so it stays correct as it grows.

* queries go through the `${datasource}` variable and filter on `$job` / `$instance`;
* every range is `$__rate_interval` (never shorter than 4 scrapes, never hiding spikes);
* counters only appear inside rate() or increase(): their raw value resets on restart;
* every metric exists in shared/metrics.py or the recording rules (no silent empty panel);
* every panel has a unit and a description.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from _promql import (
    GRAFANA_DIR,
    catalogue,
    dashboard,
    graph_panels,
    panels,
    parse,
    recording_rule_names,
    series_names,
)

DATASOURCE_UID = "${datasource}"
ROWS = [
    "Overview",
    "Ingest",
    "Model",
    "Retraining",
    "API",
    "Webhooks",
    "Seller channels",
    "Connectors",
]


def _queries() -> list[tuple[str, str]]:
    return [(p["title"], t["expr"]) for p in graph_panels() for t in p["targets"]]


def test_rows_in_order_with_the_overview_first() -> None:
    rows = [p["title"] for p in dashboard()["panels"] if p["type"] == "row"]
    assert rows == ROWS


def row_panels(row: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    current = None
    for panel in dashboard()["panels"]:
        if panel["type"] == "row":
            current = panel["title"]
        elif current == row:
            found.append(panel)
    return found


def test_overview_row_content() -> None:
    titles = [panel["title"] for panel in row_panels("Overview")]
    assert titles == [
        "Events/s",
        "Freshness",
        "Consumer lag",
        "DLQ share",
        "Alerts/h",
        "Webhook success",
    ]


def test_retraining_row_shows_the_last_run_the_last_promotion_and_both_models_ap() -> None:
    shown = {
        panel["title"]: [(parse(t["expr"]), t["legendFormat"]) for t in panel["targets"]]
        for panel in row_panels("Retraining")
    }
    assert list(shown) == ["Last retrain", "Last promotion", "Retrain window AP"]
    [(last, legend)] = shown["Last retrain"]
    assert [u.name for u in last.uses] == ["pantau_retrain_last_run_timestamp_seconds"]
    assert legend == "{{outcome}}"  # the outcome is what the panel shows
    [(promotion, _)] = shown["Last promotion"]
    assert [u.name for u in promotion.uses] == ["pantau_retrain_last_run_timestamp_seconds"]
    assert 'outcome="promoted"' in promotion.uses[0].matchers
    [(window, legend)] = shown["Retrain window AP"]
    assert [u.name for u in window.uses] == ["pantau_retrain_window_average_precision"]
    assert legend == "{{model}}"  # candidate and promoted side by side


def test_template_variables() -> None:
    variables = {v["name"]: v for v in dashboard()["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for name in ("job", "instance"):
        assert variables[name]["type"] == "query"
        assert variables[name]["datasource"]["uid"] == DATASOURCE_UID
        assert variables[name]["includeAll"] and variables[name]["multi"]


@pytest.mark.parametrize("panel", graph_panels(), ids=lambda p: p["title"])
def test_panel_has_unit_description_and_datasource(panel: dict[str, Any]) -> None:
    assert panel.get("description", "").strip(), "no description"
    assert panel["fieldConfig"]["defaults"].get("unit"), "no unit"
    assert panel["datasource"]["uid"] == DATASOURCE_UID
    assert panel["targets"], "no query"
    for target in panel["targets"]:
        assert target["datasource"]["uid"] == DATASOURCE_UID


@pytest.mark.parametrize(("title", "expr"), _queries(), ids=[q[0] for q in _queries()])
def test_query_rules(title: str, expr: str) -> None:
    allowed, counters = series_names(catalogue())
    known = allowed | recording_rule_names()
    query = parse(expr)
    assert query.uses, f"no metric in {expr}"
    for rng in query.ranges:
        assert rng == "$__rate_interval", f"range [{rng}] instead of [$__rate_interval]"
    for use in query.uses:
        assert use.name in known, f"{use.name} is neither in shared/metrics.py nor recorded"
        if use.name in counters:
            assert use.inside_rate, f"counter {use.name} outside rate()/increase()"
        if use.inside_rate:
            assert "$__rate_interval" in expr
        assert 'job=~"$job"' in use.matchers, f"{use.name} ignores $job"
        assert 'instance=~"$instance"' in use.matchers, f"{use.name} ignores $instance"


def test_unique_panel_ids() -> None:
    ids = [p["id"] for p in panels()]
    assert len(ids) == len(set(ids))


def test_provisioning_points_at_thedashboard() -> None:
    datasources = yaml.safe_load(
        (GRAFANA_DIR / "provisioning" / "datasources" / "prometheus.yml").read_text()
    )
    [source] = datasources["datasources"]
    assert source["type"] == "prometheus"
    assert source["url"] == "http://prometheus:9090"
    providers = yaml.safe_load(
        (GRAFANA_DIR / "provisioning" / "dashboards" / "pantau.yml").read_text()
    )
    [provider] = providers["providers"]
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards"
