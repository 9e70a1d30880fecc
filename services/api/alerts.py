"""The alert engine: when a product's probability becomes an alert. Pure; no I/O.

Fires when the probability reaches `threshold`; the product re-arms only after falling
below `rearm_below` (hysteresis), and never fires twice within `cooldown_ms` of event
time. State is per product and tiny, so replays reproduce the live alerts exactly.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import polars as pl

from shared.regions import province_name
from shared.scores import ALERT_THRESHOLD

ALERT_NAMESPACE = uuid.UUID("5d1c1c36-8f1e-4c7a-9a57-6a8f0b1f5b10")


@dataclass(frozen=True)
class AlertRules:
    threshold: float = ALERT_THRESHOLD
    rearm_below: float = 0.4
    cooldown_ms: int = 24 * 3_600_000

    def __post_init__(self) -> None:
        if not 0 <= self.rearm_below <= self.threshold <= 1:
            raise ValueError("need 0 <= rearm_below <= threshold <= 1")


@dataclass
class AlertEngine:
    rules: AlertRules = field(default_factory=AlertRules)
    disarmed: set[str] = field(default_factory=set)
    last_fired_ms: dict[str, int] = field(default_factory=dict)

    def evaluate(self, scores: pl.DataFrame) -> list[dict[str, Any]]:
        """Alerts raised by a batch of score rows (processed in tick order)."""
        r = self.rules
        relevant = scores.filter(
            (pl.col("probability") >= r.threshold)
            | (
                (pl.col("probability") < r.rearm_below)
                & pl.col("product_id").is_in(list(self.disarmed))
            )
        ).sort("tick_ms", "product_id")
        alerts = []
        for row in relevant.iter_rows(named=True):
            pid, tick = row["product_id"], row["tick_ms"]
            if row["probability"] < r.rearm_below:
                self.disarmed.discard(pid)
                continue
            if pid in self.disarmed:
                continue
            self.disarmed.add(pid)
            if tick - self.last_fired_ms.get(pid, -r.cooldown_ms) < r.cooldown_ms:
                continue
            self.last_fired_ms[pid] = tick
            alerts.append(make_alert(row))
        return alerts


def make_alert(row: dict[str, Any]) -> dict[str, Any]:
    """The alert record: ids are derived from (product, tick) so a replayed alert is the same."""
    name = row.get("product_name") or row["product_id"]
    regions = list(row.get("top_regions") or [])
    where = ", ".join(province_name(c) for c in regions[:3])
    pct = round(100 * row["probability"])
    reasons = [
        {"text_id": x["text_id"], "text_en": x["text_en"]} for x in (row.get("reasons") or [])
    ]
    return {
        "id": str(uuid.uuid5(ALERT_NAMESPACE, f"{row['product_id']}:{row['tick_ms']}")),
        "product_id": row["product_id"],
        "product_name": row.get("product_name"),
        "category": row.get("category"),
        "regions": regions,
        "probability": row["probability"],
        "score": row["score"],
        "model_version": row["model_version"],
        "reasons": reasons,
        "message_id": f"{name} sedang naik"
        + (f" di {where}" if where else "")
        + f": peluang viral {pct}% dalam 24 jam.",
        "message_en": f"{name} is rising"
        + (f" in {where}" if where else "")
        + f": {pct}% chance of going viral within 24 hours.",
        "ts": datetime.fromtimestamp(row["tick_ms"] / 1000, UTC).isoformat().replace("+00:00", "Z"),
        "tick_ms": row["tick_ms"],
    }
