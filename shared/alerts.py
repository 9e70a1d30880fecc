"""The alert engine: when a product's probability becomes an alert. Pure; no I/O.

Fires when the probability reaches `threshold`; the product re-arms only after falling
below `rearm_below` (hysteresis), and never fires twice within `cooldown_ms` of event
time. Each product's rows are evaluated one by one in tick order, also within a batch,
and a row at or before the last tick already evaluated for its product (a redelivered
score) changes nothing. The state per product (`AlertState`) is three numbers, persisted
by the API with the alerts it explains, so any batching, any restart and any
redelivery give the alerts of one pass over the scores.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

import polars as pl

from shared.regions import province_name
from shared.settings import AlertSettings

ALERT_NAMESPACE = uuid.UUID("5d1c1c36-8f1e-4c7a-9a57-6a8f0b1f5b10")


_DEFAULTS = AlertSettings.model_construct()  # the settings' defaults, no environment read


@dataclass(frozen=True)
class AlertRules:
    """Defaults are `AlertSettings`' (the environment is read only by `from_settings`)."""

    threshold: float = _DEFAULTS.threshold
    rearm_below: float = _DEFAULTS.rearm_below
    cooldown_ms: int = _DEFAULTS.cooldown_ms

    def __post_init__(self) -> None:
        if not 0 <= self.rearm_below <= self.threshold <= 1:
            raise ValueError("need 0 <= rearm_below <= threshold <= 1")

    @classmethod
    def from_settings(cls, settings: AlertSettings) -> AlertRules:
        return cls(settings.threshold, settings.rearm_below, settings.cooldown_ms)


@dataclass(frozen=True, slots=True)
class AlertState:
    """What the engine remembers of one product. A product never seen is armed."""

    last_tick_ms: int  # newest tick evaluated: rows at or before it are redeliveries
    armed: bool  # the next row at or above the threshold fires (cool-down permitting)
    last_fired_ms: int | None = None


class Decision(NamedTuple):
    """A batch's alerts and the new state of every product whose rows were evaluated."""

    alerts: list[dict[str, Any]]
    states: dict[str, AlertState]


@dataclass
class AlertEngine:
    rules: AlertRules = field(default_factory=AlertRules)
    states: dict[str, AlertState] = field(default_factory=dict)

    def evaluate(self, scores: pl.DataFrame) -> list[dict[str, Any]]:
        """Alerts raised by a batch of score rows; the engine moves on to the new state."""
        decision = self.decide(scores)
        self.states.update(decision.states)
        return decision.alerts

    def decide(self, scores: pl.DataFrame) -> Decision:
        """What a batch raises, without changing the engine: a caller that persists the
        state adopts `Decision.states` only once the store has committed them."""
        if scores.height == 0:
            return Decision([], {})
        r = self.rules
        rows = scores.select("product_id", "tick_ms", "probability").with_row_index("row")
        products = rows["product_id"].unique().to_list()
        known = [self.states.get(pid) for pid in products]
        before = pl.DataFrame(
            {
                "product_id": products,
                "seen_ms": [s.last_tick_ms if s else None for s in known],
                "was_armed": [s.armed if s else True for s in known],
            },
            schema={"product_id": pl.String, "seen_ms": pl.Int64, "was_armed": pl.Boolean},
        ).with_row_index("product")
        # Each product's new rows together, in tick order, a duplicate after its first
        # copy: integer sort keys, so neighbours are compared instead of hashing groups.
        same_product = pl.col("product").eq_missing(pl.col("product").shift(1))
        fresh = (
            rows.join(before, on="product_id", how="left")
            .filter(pl.col("seen_ms").is_null() | (pl.col("tick_ms") > pl.col("seen_ms")))
            .sort("product", "tick_ms", "row")
            .filter(~same_product | pl.col("tick_ms").ne_missing(pl.col("tick_ms").shift(1)))
        )
        # Only a row whose level (1: at or above the threshold, 0: below the re-arm level)
        # differs from the product's previous level can change its state: an armed
        # product dipping again, a disarmed one staying high and every row in between
        # are no-ops, so only these few rows go through the loop below.
        level = (
            pl.when(pl.col("probability") >= r.threshold)
            .then(1)
            .when(pl.col("probability") < r.rearm_below)
            .then(0)
            .otherwise(None)
            .cast(pl.Int8)
        )
        prev = (
            pl.when(same_product)
            .then(pl.col("level").shift(1))
            .otherwise(pl.col("was_armed").not_().cast(pl.Int8))
        )
        changes = (
            fresh.with_columns(level=level)
            .drop_nulls("level")
            .filter(pl.col("level") != prev)
            .sort("tick_ms", "product_id")
        )
        states: dict[str, AlertState] = {}
        alerts = []
        for pid, tick, lvl, row in changes.select(
            "product_id", "tick_ms", "level", "row"
        ).iter_rows():
            state = states.get(pid) or self.states.get(pid) or AlertState(tick, armed=True)
            if lvl == 0:
                states[pid] = AlertState(tick, True, state.last_fired_ms)
            elif state.armed:
                last = state.last_fired_ms
                fire = last is None or tick - last >= r.cooldown_ms
                states[pid] = AlertState(tick, False, tick if fire else last)
                if fire:
                    alerts.append(make_alert(scores.row(row, named=True)))
        newest = fresh.filter(pl.col("product").ne_missing(pl.col("product").shift(-1)))
        for pid, tick in newest.select("product_id", "tick_ms").iter_rows():
            state = states.get(pid) or self.states.get(pid) or AlertState(tick, armed=True)
            states[pid] = AlertState(tick, state.armed, state.last_fired_ms)
        return Decision(alerts, states)


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
