"""The alert engine: when a product's probability becomes an alert. Pure; no I/O.

Two tiers: the confident alert ("sangat mungkin viral" within 24 h) on `probability`, and
the heads-up ("bersiap": likely viral within days) on `probability_72h`, each with its own
threshold. A tier fires when its probability reaches its threshold; the product re-arms
only after falling below `rearm_below` (hysteresis), and a tier never fires twice within
its cool-down of event time (`confident_cooldown_ms` for the confident tier, `cooldown_ms`
for the heads-up). Each product's rows are evaluated one by one in tick order,
also within a batch, and a row at or before the last tick already evaluated for its
product (a redelivered score) changes nothing. A calibrated model's rows without
creators alert only once the product has stayed at or above their confident level for
`without_creators_hold_ms`. The state per product (`AlertState`) is
six numbers, persisted by the API with the alerts it explains, so any batching, any
restart and any redelivery give the alerts of one pass over the scores.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

import polars as pl

from shared.emerging import TERM_PREFIX
from shared.regions import province_name
from shared.scores import (
    BASELINE_REARM_BELOW,
    BASELINE_THRESHOLD,
    UNCALIBRATED_PREFIX,
    growth_phrase,
    is_calibrated,
)
from shared.settings import AlertSettings

ALERT_NAMESPACE = uuid.UUID("5d1c1c36-8f1e-4c7a-9a57-6a8f0b1f5b10")


_DEFAULTS = AlertSettings.model_construct()  # the settings' defaults, no environment read


@dataclass(frozen=True)
class AlertRules:
    """Defaults are `AlertSettings`' (the environment is read only by `from_settings`).

    `threshold`/`rearm_below` are the confident tier's, on `probability` (24 h);
    `heads_up_threshold`/`heads_up_rearm_below` the heads-up tier's, on `probability_72h`
    (None: no heads-up tier). Each tier has its own cool-down: `cooldown_ms` the heads-up's,
    `confident_cooldown_ms` the confident tier's (None: `cooldown_ms`). A calibrated model's
    score rows without creators in 24 h take each tier's `…without_creators_threshold` and
    its re-arm level instead, where it is set; at the confident tier they must also have
    held (`has_held`) for `without_creators_hold_ms`. A baseline's rows (uncalibrated: a growth
    strength, whatever the source) alert at `baseline_threshold` and re-arm below
    `baseline_rearm_below`, the level its ratio is set to. A product gets no heads-up for
    `heads_up_after_confident_ms` after a confident alert (None: the confident tier's
    cool-down)."""

    threshold: float = _DEFAULTS.threshold
    rearm_below: float = _DEFAULTS.rearm_below
    cooldown_ms: int = _DEFAULTS.cooldown_ms
    heads_up_threshold: float | None = _DEFAULTS.headsup_threshold
    heads_up_rearm_below: float = _DEFAULTS.headsup_rearm_below
    confident_cooldown_ms: int | None = _DEFAULTS.confident_cooldown_ms
    heads_up_without_creators_threshold: float | None = _DEFAULTS.headsup_without_creators_threshold
    heads_up_without_creators_rearm_below: float = _DEFAULTS.headsup_without_creators_rearm_below
    heads_up_after_confident_ms: int | None = _DEFAULTS.headsup_after_confident_ms
    without_creators_threshold: float | None = _DEFAULTS.without_creators_threshold
    without_creators_rearm_below: float = _DEFAULTS.without_creators_rearm_below
    without_creators_hold_ms: int = _DEFAULTS.without_creators_hold_ms
    baseline_threshold: float = BASELINE_THRESHOLD
    baseline_rearm_below: float = BASELINE_REARM_BELOW

    def __post_init__(self) -> None:
        # Each level pair (None: that threshold is off), by its fields' prefix.
        for prefix, threshold, rearm in (
            ("", self.threshold, self.rearm_below),
            ("baseline_", self.baseline_threshold, self.baseline_rearm_below),
            (
                "without_creators_",
                self.without_creators_threshold,
                self.without_creators_rearm_below,
            ),
            ("heads_up_", self.heads_up_threshold, self.heads_up_rearm_below),
            (
                "heads_up_without_creators_",
                self.heads_up_without_creators_threshold,
                self.heads_up_without_creators_rearm_below,
            ),
        ):
            if threshold is not None and not 0 <= rearm <= threshold <= 1:
                raise ValueError(f"need 0 <= {prefix}rearm_below <= {prefix}threshold <= 1")
        for name in (
            "confident_cooldown_ms",
            "heads_up_after_confident_ms",
            "without_creators_hold_ms",
        ):
            if (getattr(self, name) or 0) < 0:
                raise ValueError(f"need {name} >= 0")

    @property
    def confident_cooldown(self) -> int:
        """The confident tier's cool-down in ms."""
        if self.confident_cooldown_ms is None:
            return self.cooldown_ms
        return self.confident_cooldown_ms

    def tier_of(
        self,
        probability: float,
        probability_72h: float | None,
        creators_24h: float | None = None,
        calibrated: bool = True,
        held: bool = True,
    ) -> str | None:
        """The highest tier whose threshold a score reaches (None: neither), for showing
        where a product stands now; whether it alerts is `AlertEngine`'s (hysteresis,
        cool-down). Each threshold is the row's level, as in the engine; `held` says
        whether the product has held it (`has_held`), which a row without creators needs."""
        level = self.confident_level(creators_24h, calibrated)
        if probability >= level and (held or not self.needs_hold(creators_24h, calibrated)):
            return CONFIDENT.name
        heads_up = self.heads_up_level(creators_24h, calibrated)
        if heads_up is not None and probability_72h is not None and probability_72h >= heads_up:
            return HEADS_UP.name
        return None

    def confident_level(self, creators_24h: float | None, calibrated: bool = True) -> float:
        """The confident threshold a row is held to: a baseline's row the baseline level;
        a calibrated row without creators in 24 h (`creators_24h` 0) its own level where
        that is set; other rows, and rows whose creators are unknown, the threshold."""
        if not calibrated:
            return self.baseline_threshold
        own = self.without_creators_threshold
        return own if own is not None and creators_24h == 0.0 else self.threshold

    def needs_hold(self, creators_24h: float | None, calibrated: bool = True) -> bool:
        """Whether a row reaches the confident tier only after holding its level: a
        calibrated row without creators in 24 h, while its own level is set."""
        own = self.without_creators_threshold is not None and self.without_creators_hold_ms > 0
        return own and calibrated and creators_24h == 0.0

    def has_held(self, low_ms: int | None, tick_ms: int) -> bool:
        """Whether a product whose rows were last under their confident level at `low_ms`
        (None: never) has held it at `tick_ms`: no row under it within the hold."""
        return low_ms is None or low_ms <= tick_ms - self.without_creators_hold_ms

    def heads_up_level(self, creators_24h: float | None, calibrated: bool = True) -> float | None:
        """The heads-up threshold a row is held to, as `confident_level` decides the
        confident one (None: no heads-up tier)."""
        own = self.heads_up_without_creators_threshold
        if own is not None and calibrated and creators_24h == 0.0:
            return own
        return self.heads_up_threshold

    @classmethod
    def from_settings(cls, settings: AlertSettings) -> AlertRules:
        return cls(
            settings.threshold,
            settings.rearm_below,
            settings.cooldown_ms,
            settings.headsup_threshold,
            settings.headsup_rearm_below,
            settings.confident_cooldown_ms,
            settings.headsup_without_creators_threshold,
            settings.headsup_without_creators_rearm_below,
            settings.headsup_after_confident_ms,
            settings.without_creators_threshold,
            settings.without_creators_rearm_below,
            settings.without_creators_hold_ms,
        )


@dataclass(frozen=True, slots=True)
class AlertState:
    """What the engine remembers of one product. A product never seen is armed."""

    last_tick_ms: int  # newest tick evaluated: rows at or before it are redeliveries
    armed: bool  # the next row at or above the threshold fires (cool-down permitting)
    last_fired_ms: int | None = None
    heads_up_armed: bool = True  # the same two for the heads-up tier
    heads_up_fired_ms: int | None = None
    low_ms: int | None = None  # newest tick under its confident level, or first seen


class Decision(NamedTuple):
    """A batch's alerts and the new state of every product whose rows were evaluated."""

    alerts: list[dict[str, Any]]
    states: dict[str, AlertState]


class Tier(NamedTuple):
    name: str  # the alert's `tier`
    column: str  # the probability it reads
    armed: str  # AlertState fields it owns
    fired: str


CONFIDENT = Tier("confident", "probability", "armed", "last_fired_ms")
HEADS_UP = Tier("heads_up", "probability_72h", "heads_up_armed", "heads_up_fired_ms")


def _levels(
    levels: tuple[float, float],
    own: tuple[float | None, float],
    baseline: tuple[float, float] | None = None,
) -> tuple[float | pl.Expr, float | pl.Expr]:
    """A tier's threshold and re-arm level per row: (threshold, re-arm) `levels`, `own` on
    a calibrated model's rows without creators (the `own` column) when its threshold is
    set, `baseline` on a baseline's rows (the `baseline` column) when given."""
    out: list[float | pl.Expr] = []
    for i in (0, 1):
        level: float | pl.Expr = levels[i]
        if own[0] is not None:
            level = pl.when(pl.col("own")).then(own[i]).otherwise(level)
        if baseline is not None:
            level = pl.when(pl.col("baseline")).then(baseline[i]).otherwise(level)
        out.append(level)
    return out[0], out[1]


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
        state adopts `Decision.states` only once the store has committed them.

        The confident tier first; then the heads-up tier, which stays silent on a row
        where the product had a confident alert within `heads_up_after_confident_ms`
        (the seller already knows more than a heads-up says).

        Emerging terms (`term:…`) never alert: the words of a viral product's name rise
        with it, so their alerts would repeat the product's (in simulated text runs,
        276-282 of some 290 alerts were on terms). They reach people through
        `/v1/emerging` and the seller page instead; keeping them out here keeps the API,
        replay and evaluation in agreement."""
        scores = scores.filter(~pl.col("product_id").str.starts_with(TERM_PREFIX))
        if scores.height == 0:
            return Decision([], {})
        r = self.rules
        heads_up = r.heads_up_threshold is not None and HEADS_UP.column in scores.columns
        columns = [CONFIDENT.column] + ([HEADS_UP.column] if heads_up else [])
        # A baseline's rows; a calibrated model's rows without creators (unknown: neither).
        baseline = pl.lit(False)
        if "model_version" in scores.columns:
            baseline = pl.col("model_version").str.starts_with(UNCALIBRATED_PREFIX)
        own = pl.lit(False)
        if "creators_24h" in scores.columns:
            own = (pl.col("creators_24h") == 0.0) & ~baseline
        rows = scores.select(
            "product_id",
            "tick_ms",
            *columns,
            own=own.fill_null(False),
            baseline=baseline.fill_null(False),
        ).with_row_index("row")
        products = rows["product_id"].unique().to_list()
        known = [self.states.get(p) for p in products]
        before = pl.DataFrame(
            {
                "product_id": products,
                "seen_ms": [s.last_tick_ms if s else None for s in known],
                "low_before": [s.low_ms if s else None for s in known],
            },
            schema={"product_id": pl.String, "seen_ms": pl.Int64, "low_before": pl.Int64},
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
        states: dict[str, AlertState] = {}
        threshold, rearm = _levels(
            (r.threshold, r.rearm_below),
            (r.without_creators_threshold, r.without_creators_rearm_below),
            (r.baseline_threshold, r.baseline_rearm_below),
        )
        # The newest tick at which the product was under its confident level (or first
        # seen), this row included: a row that must hold its level reaches it once that
        # lies a hold back. Each product's first row has one (the state's, else its own
        # tick), so one forward fill over the sorted rows never crosses products.
        fresh = fresh.with_columns(
            low_ms=pl.when(pl.col(CONFIDENT.column) < threshold)
            .then(pl.col("tick_ms"))
            .when(~same_product)
            .then(pl.coalesce("low_before", "tick_ms"))
            .forward_fill()
        )
        reach: pl.Expr = pl.lit(True)
        if r.needs_hold(creators_24h=0.0):  # `has_held` per row
            held = pl.col("low_ms") <= pl.col("tick_ms") - r.without_creators_hold_ms
            reach = ~pl.col("own") | held
        fired = self._tier(fresh, CONFIDENT, threshold, rearm, r.confident_cooldown, states, reach)
        confident_ticks: dict[str, list[int]] = {}
        for _, tick, pid, _ in fired:
            confident_ticks.setdefault(pid, []).append(tick)
        if heads_up:
            assert r.heads_up_threshold is not None
            quiet = r.heads_up_after_confident_ms
            quiet = r.confident_cooldown if quiet is None else quiet
            threshold, rearm = _levels(
                (r.heads_up_threshold, r.heads_up_rearm_below),
                (r.heads_up_without_creators_threshold, r.heads_up_without_creators_rearm_below),
            )
            for fire in self._tier(fresh, HEADS_UP, threshold, rearm, r.cooldown_ms, states):
                _, tick, pid, _ = fire
                earlier = confident_ticks.get(pid, [])
                if (last := self.states.get(pid)) and last.last_fired_ms is not None:
                    earlier = [last.last_fired_ms, *earlier]
                if not any(tick - quiet < c <= tick for c in earlier):
                    fired.append(fire)
        alerts = [
            make_alert(scores.row(row, named=True), tier)
            for row, _, _, tier in sorted(fired, key=lambda f: (f[1], f[2], f[3] != CONFIDENT))
        ]
        newest = fresh.filter(pl.col("product").ne_missing(pl.col("product").shift(-1)))
        for pid, tick, low in newest.select("product_id", "tick_ms", "low_ms").iter_rows():
            state = states.get(pid) or self.states.get(pid) or AlertState(tick, armed=True)
            states[pid] = dataclasses.replace(state, last_tick_ms=tick, low_ms=low)
        return Decision(alerts, states)

    def _tier(
        self,
        fresh: pl.DataFrame,
        tier: Tier,
        threshold: float | pl.Expr,
        rearm_below: float | pl.Expr,
        cooldown_ms: int,
        states: dict[str, AlertState],
        reach: pl.Expr | None = None,
    ) -> list[tuple[int, int, str, Tier]]:
        """One tier's hysteresis and cool-down over the fresh rows; updates `states` and
        returns what fires as (row, tick, product, tier). `threshold` and `rearm_below`
        may be expressions over the row (a level of its own for some rows); `reach`, where
        given, says on which rows reaching the threshold counts."""
        # Only a row whose level (1: at or above the threshold, 0: below the re-arm level)
        # differs from the product's previous level can change its state: an armed
        # product dipping again, a disarmed one staying high and every row in between
        # are no-ops, so only these few rows go through the loop below.
        p = pl.col(tier.column)
        high = p >= threshold if reach is None else (p >= threshold) & reach
        level = pl.when(high).then(1).when(p < rearm_below).then(0).otherwise(None)
        was_armed = pl.Series(
            [
                getattr(s, tier.armed) if (s := self.states.get(pid)) else True
                for pid in fresh["product_id"].to_list()
            ],
            dtype=pl.Boolean,
        )
        same_product = pl.col("product").eq_missing(pl.col("product").shift(1))
        prev = (
            pl.when(same_product)
            .then(pl.col("level").shift(1))
            .otherwise(pl.col("was_armed").not_().cast(pl.Int8))
        )
        changes = (
            fresh.with_columns(level=level.cast(pl.Int8), was_armed=was_armed)
            .drop_nulls("level")
            .filter(pl.col("level") != prev)
            .sort("tick_ms", "product_id")
        )
        out = []
        for pid, tick, lvl, row in changes.select(
            "product_id", "tick_ms", "level", "row"
        ).iter_rows():
            state = states.get(pid) or self.states.get(pid) or AlertState(tick, armed=True)
            if lvl == 0:
                states[pid] = dataclasses.replace(state, last_tick_ms=tick, **{tier.armed: True})
            elif getattr(state, tier.armed):
                last = getattr(state, tier.fired)
                fire = last is None or tick - last >= cooldown_ms
                states[pid] = dataclasses.replace(
                    state,
                    last_tick_ms=tick,
                    **{tier.armed: False, tier.fired: tick if fire else last},
                )
                if fire:
                    out.append((row, tick, pid, tier))
        return out


def alert_tier(alert: Mapping[str, Any]) -> str:
    """An alert record's tier; one stored before tiers existed was a confident alert."""
    return str(alert.get("tier") or CONFIDENT.name)


def make_alert(row: dict[str, Any], tier: Tier = CONFIDENT) -> dict[str, Any]:
    """The alert record: ids are derived from (product, tick, tier) so a replayed alert is
    the same; a confident alert keeps the id it had before tiers existed. `probability` is
    the tier's own (24 h or 72 h)."""
    name = row.get("product_name") or row["product_id"]
    regions = list(row.get("top_regions") or [])
    where = ", ".join(province_name(c) for c in regions[:3])
    probability = row[tier.column]
    # A non-probabilistic scorer's strength is no chance: its growth is said instead.
    odds = (
        None
        if is_calibrated(row["model_version"])
        else {lang: growth_phrase(row["score"] or 0.0, lang) for lang in ("id", "en")}
    )
    key = f"{row['product_id']}:{row['tick_ms']}" + ("" if tier == CONFIDENT else ":heads_up")
    reasons = [
        {"text_id": x["text_id"], "text_en": x["text_en"]} for x in (row.get("reasons") or [])
    ]
    return {
        "id": str(uuid.uuid5(ALERT_NAMESPACE, key)),
        "tier": tier.name,
        "product_id": row["product_id"],
        "product_name": row.get("product_name"),
        "category": row.get("category"),
        "regions": regions,
        "probability": probability,
        "score": row["score"],
        "model_version": row["model_version"],
        "reasons": reasons,
        **_messages(tier, name, where, round(100 * probability), odds),
        "ts": datetime.fromtimestamp(row["tick_ms"] / 1000, UTC).isoformat().replace("+00:00", "Z"),
        "tick_ms": row["tick_ms"],
    }


def _messages(
    tier: Tier, name: str, where: str, pct: int, odds: dict[str, str] | None
) -> dict[str, str]:
    """The alert in one sentence per language; `odds` (growth words) replaces the chance
    of a row that has none."""
    if tier == HEADS_UP:
        return {
            "message_id": f"Bersiap: {name} mulai naik"
            + (f" di {where}" if where else "")
            + (f": {odds['id']}." if odds else f": peluang viral {pct}% dalam 3 hari."),
            "message_en": f"Get ready: {name} is starting to rise"
            + (f" in {where}" if where else "")
            + (f": {odds['en']}." if odds else f": {pct}% chance of going viral within 3 days."),
        }
    return {
        "message_id": f"{name} sedang naik"
        + (f" di {where}" if where else "")
        + (f": {odds['id']}." if odds else f": peluang viral {pct}% dalam 24 jam."),
        "message_en": f"{name} is rising"
        + (f" in {where}" if where else "")
        + (f": {odds['en']}." if odds else f": {pct}% chance of going viral within 24 hours."),
    }
