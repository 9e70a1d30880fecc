"""A simulated run parsed for tests: strict wire-format validation and per-product views."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import orjson

from services.simulator import SimulationSummary
from services.simulator.platforms import ACTIONS, PLATFORMS
from services.simulator.regions import REGION_CODES

SEED = 1
HOUR_MS = 3_600_000
ENGAGEMENT = ("like", "comment", "share", "save")
_PLATFORMS, _ACTIONS, _REGIONS = set(PLATFORMS), set(ACTIONS), set(REGION_CODES)


def parse_ts(value: object) -> int | None:
    """Epoch ms from an int or an RFC 3339 string with an offset; None if neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return round(parsed.timestamp() * 1000)


def validate(line: bytes) -> dict[str, object] | None:
    """The event if the line follows the wire format strictly, else None."""
    try:
        event = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(event, dict):
        return None
    for key in ("event_id", "product_id", "platform", "action"):
        if not isinstance(event.get(key), str) or not event[key]:
            return None
    ts = parse_ts(event.get("ts"))
    if ts is None or not 946_684_800_000 <= ts <= 4_102_444_800_000:
        return None
    if event["platform"] not in _PLATFORMS or event["action"] not in _ACTIONS:
        return None
    count = event.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        return None
    if "region" in event and event["region"] not in _REGIONS:
        return None
    for key in ("creator_id", "category", "product_name"):
        if key in event and not isinstance(event[key], str):
            return None
    price = event.get("price_idr", 0)
    if isinstance(price, bool) or not isinstance(price, int | float):
        return None
    event["ts_ms"] = ts
    event["count"] = count
    return event


@dataclass
class Run:
    summary: SimulationSummary
    lines: list[bytes]
    truth: dict
    events: list[dict] = field(default_factory=list)  # valid lines, retries included
    rejected: int = 0
    by_product: dict[str, list[dict]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        seen: set[str] = set()
        grouped: dict[str, list[dict]] = defaultdict(list)
        for line in self.lines:
            event = validate(line)
            if event is None:
                self.rejected += 1
                continue
            self.events.append(event)
            if event["event_id"] not in seen:
                seen.add(event["event_id"])
                grouped[event["product_id"]].append(event)
        self.by_product = dict(grouped)

    def hour_of(self, ms: int) -> int:
        return (ms - self.truth["start_ms"]) // HOUR_MS

    @property
    def hours(self) -> int:
        return (self.truth["end_ms"] - self.truth["start_ms"]) // HOUR_MS

    def products(self, kind: str, *, coarse: bool | None = None) -> list[str]:
        return [
            pid
            for pid, t in self.truth["products"].items()
            if t["kind"] == kind and (coarse is None or t["coarse"] == coarse)
        ]

    def window(self, pid: str, start_ms: int, end_ms: int) -> list[dict]:
        return [e for e in self.by_product.get(pid, []) if start_ms <= e["ts_ms"] < end_ms]

    def hourly(self, pid: str, action: str = "view") -> np.ndarray:
        out = np.zeros(self.hours)
        for e in self.by_product.get(pid, []):
            if e["action"] == action:
                out[min(max(self.hour_of(e["ts_ms"]), 0), self.hours - 1)] += e["count"]
        return out


def totals(events: list[dict]) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for e in events:
        out[e["action"]] += e["count"]
    return out


def engagement_rate(events: list[dict]) -> float:
    t = totals(events)
    return sum(t[a] for a in ENGAGEMENT) / max(t["view"], 1)


def distinct(events: list[dict], key: str) -> int:
    return len({e[key] for e in events if key in e})
