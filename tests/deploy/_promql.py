"""Just enough PromQL reading for the deploy tests: which metrics a query uses, and how.

A full parser would be overkill; this tokenizer knows where metric names can appear
(not inside label matchers, range selectors, strings or `by (...)` lists) and which
function calls enclose each of them, which is all the dashboard and rule checks need.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from prometheus_client.metrics import MetricWrapperBase

import shared.metrics

REPO = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = REPO / "deploy" / "prometheus"
RULE_FILES = sorted((PROMETHEUS_DIR / "rules").glob("*.yml"))
GRAFANA_DIR = REPO / "deploy" / "grafana"
DASHBOARD = GRAFANA_DIR / "dashboards" / "pantau.json"

_TOKEN = re.compile(
    r"""
      (?P<string>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|`[^`]*`)
    | (?P<matchers>\{(?:"(?:\\.|[^"\\])*"|[^}"])*\})
    | (?P<range>\[[^\]]*\])
    | (?P<variable>\$\{?\w+\}?)
    | (?P<number>(?:\d+(?:ms|[smhdwy]))+|\d*\.?\d+(?:[eE][+-]?\d+)?)
    | (?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)
    | (?P<lparen>\()
    | (?P<rparen>\))
    | (?P<space>\s+)
    | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)
_LABEL_LIST = {"by", "without", "on", "ignoring", "group_left", "group_right"}
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan", "atan2"}
_AGGREGATORS = {
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
    "limitk",
    "limit_ratio",
}
RATE_FUNCTIONS = {"rate", "increase"}


@dataclass(frozen=True)
class MetricUse:
    """One vector selector: the metric, its `{...}` matchers and the calls around it."""

    name: str
    matchers: str
    enclosing: tuple[str, ...]

    @property
    def inside_rate(self) -> bool:
        return any(fn in RATE_FUNCTIONS for fn in self.enclosing)


@dataclass(frozen=True)
class Query:
    """What the deploy tests need to know about one PromQL expression."""

    uses: tuple[MetricUse, ...]
    ranges: tuple[str, ...]


def parse(expr: str) -> Query:
    """Find every metric reference and range selector in `expr`."""
    tokens = [(m.lastgroup or "", m.group()) for m in _TOKEN.finditer(expr)]
    tokens = [t for t in tokens if t[0] != "space"]
    uses: list[MetricUse] = []
    ranges: list[str] = []
    stack: list[str] = []  # one entry per open parenthesis: function name, "()" or "labels"
    pending_call: str | None = None
    labels_next = False
    for i, (kind, text) in enumerate(tokens):
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ("", "")
        if kind == "range":
            ranges.append(text[1:-1])
        elif kind == "lparen":
            if labels_next:
                stack.append("labels")
                labels_next = False
            elif pending_call:
                stack.append(pending_call)
                pending_call = None
            else:
                stack.append("()")
        elif kind == "rparen":
            if stack:
                stack.pop()
        elif kind == "ident" and not (stack and stack[-1] == "labels"):
            word = text.lower()
            if word in _LABEL_LIST:
                labels_next = nxt[0] == "lparen"
            elif word in _KEYWORDS:
                continue
            elif nxt[0] == "lparen" or (word in _AGGREGATORS and nxt[1] in ("by", "without")):
                pending_call = word
            else:
                matchers = nxt[1] if nxt[0] == "matchers" else ""
                fns = tuple(s for s in stack if s not in ("()", "labels"))
                uses.append(MetricUse(text, matchers, fns))
    return Query(tuple(uses), tuple(ranges))


def catalogue() -> dict[str, str]:
    """Metric family name -> type, for every metric defined in shared/metrics.py."""
    families: dict[str, str] = {}
    for obj in vars(shared.metrics).values():
        if isinstance(obj, MetricWrapperBase):
            for family in obj.describe():
                families[family.name] = family.type
    return families


def series_names(families: dict[str, str]) -> tuple[set[str], set[str]]:
    """(every series name the catalogue exposes, the subset that are counters).

    Histogram `_bucket`, `_count` and `_sum` series only ever go up, so they count as
    counters too: their raw values mean nothing outside rate()/increase().
    """
    allowed: set[str] = set()
    counters: set[str] = set()
    for name, kind in families.items():
        if kind == "counter":
            allowed.add(f"{name}_total")
            counters.add(f"{name}_total")
        elif kind == "histogram":
            parts = {f"{name}_bucket", f"{name}_count", f"{name}_sum"}
            allowed |= parts
            counters |= parts
        else:
            allowed.add(name)
    return allowed, counters


def load_rules() -> list[dict]:
    """Every rule (recording and alerting) from deploy/prometheus/rules/*.yml."""
    rules: list[dict] = []
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            rules.extend(group["rules"])
    return rules


def recording_rule_names() -> set[str]:
    return {rule["record"] for rule in load_rules() if "record" in rule}


def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


def panels(items: list[dict[str, Any]] | None = None) -> Iterator[dict[str, Any]]:
    """Every panel of the dashboard, rows included, and those nested in collapsed rows."""
    for panel in dashboard()["panels"] if items is None else items:
        yield panel
        yield from panels(panel.get("panels", []))


def graph_panels() -> list[dict[str, Any]]:
    return [p for p in panels() if p["type"] != "row"]
