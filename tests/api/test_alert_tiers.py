"""The two alert tiers: a heads-up on the 72 h probability days ahead, the confident alert
on the 24 h one; each with its own hysteresis and cool-down, any batching giving the alerts
of one pass, and the heads-up state kept by the store across a restart."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import select

from services.api.db import make_engine, make_sessionmaker
from services.api.intake import ScoreIntake
from services.api.schema import upgrade_schema
from services.api.web.data import product_view
from services.api.webhooks.models import Delivery, Subscription
from services.api.webhooks.outbox import enqueue_alert
from services.api.webhooks.signing import generate_secret
from shared.alerts import AlertEngine, AlertRules
from shared.scores import UNCALIBRATED_PREFIX

TICK_MS = 1_772_409_600_000
HOUR_MS = 3_600_000
RULES = AlertRules(
    threshold=0.6,
    rearm_below=0.4,
    cooldown_ms=24 * HOUR_MS,
    heads_up_threshold=0.5,
    heads_up_rearm_below=0.3,
)


Rows = Callable[..., pl.DataFrame]


@pytest.fixture(scope="module")
def rows(make_scores: Callable[..., pl.DataFrame]) -> Rows:
    """`rows(*points)`: (product, hour, 24 h probability, 72 h probability) per row."""

    def build(*points: tuple[str, int, float, float | None]) -> pl.DataFrame:
        return pl.concat(
            [
                make_scores({pid: p24}, TICK_MS + h * HOUR_MS, probability_72h=p72)
                for pid, h, p24, p72 in points
            ]
        )

    return build


def fired(alerts: list[dict]) -> list[tuple[str, int, str]]:
    return [(a["product_id"], (a["tick_ms"] - TICK_MS) // HOUR_MS, a["tier"]) for a in alerts]


def test_heads_up_days_ahead_then_the_confident_alert(rows: Rows) -> None:
    scores = rows(
        ("a", 0, 0.1, 0.2),
        ("a", 1, 0.1, 0.55),  # heads-up
        ("a", 2, 0.2, 0.7),  # still high: disarmed, nothing
        ("a", 40, 0.7, 0.9),  # confident alert
        ("b", 1, 0.1, None),  # a scorer without the 72 h horizon: no heads-up
    )
    alerts = AlertEngine(RULES).evaluate(scores)
    assert fired(alerts) == [("a", 1, "heads_up"), ("a", 40, "confident")]
    heads_up, confident = alerts
    assert heads_up["probability"] == 0.55 and confident["probability"] == 0.7
    assert heads_up["message_id"].startswith("Bersiap") and "3 hari" in heads_up["message_id"]
    assert "24 jam" in confident["message_id"] and heads_up["id"] != confident["id"]
    no_tier = AlertRules(threshold=0.6, rearm_below=0.4, heads_up_threshold=None)
    assert fired(AlertEngine(no_tier).evaluate(scores)) == [("a", 40, "confident")]


def test_no_heads_up_for_a_month_after_a_confident_alert(rows: Rows) -> None:
    week = RULES.confident_cooldown // HOUR_MS
    month = RULES.heads_up_after_confident_ms // HOUR_MS  # type: ignore[operator]
    assert (week, month) == (7 * 24, 30 * 24)  # the defaults
    scores = rows(
        ("a", 0, 0.9, 0.2),  # confident
        ("a", 3, 0.3, 0.8),  # the seller already knows: silent
        ("a", 4, 0.3, 0.1),  # re-arms the heads-up
        ("a", 30, 0.3, 0.8),  # past the heads-up's cool-down, within the confident one
        ("a", 31, 0.3, 0.1),
        ("a", week, 0.3, 0.8),  # past the confident tier's cool-down: its tail, silent
        ("a", week + 1, 0.3, 0.1),
        ("a", month, 0.3, 0.8),  # a month after the confident alert: heads-up
    )
    assert fired(AlertEngine(RULES).evaluate(scores)) == [
        ("a", 0, "confident"),
        ("a", month, "heads_up"),
    ]
    # Unset: quiet for the confident tier's cool-down only.
    weekly = dataclasses.replace(RULES, heads_up_after_confident_ms=None)
    assert fired(AlertEngine(weekly).evaluate(scores)) == [
        ("a", 0, "confident"),
        ("a", week, "heads_up"),
        ("a", month, "heads_up"),
    ]


def test_a_confident_alert_keeps_its_product_quiet_for_the_confident_cool_down(
    rows: Rows,
) -> None:
    # After the peak the 24 h probability dips under the re-arm level and flickers over
    # the threshold again a day or two later: no second confident alert for a week.
    week = RULES.confident_cooldown // HOUR_MS
    scores = rows(
        ("a", 0, 0.9, None),  # confident
        ("a", 5, 0.2, None),  # re-armed
        ("a", 30, 0.9, None),  # past a day: silent all the same
        ("a", 31, 0.2, None),
        ("a", 100, 0.7, None),
        ("a", 101, 0.2, None),
        ("a", week, 0.8, None),  # a week after the alert: alerts again
    )
    assert fired(AlertEngine(RULES).evaluate(scores)) == [
        ("a", 0, "confident"),
        ("a", week, "confident"),
    ]
    daily = dataclasses.replace(RULES, confident_cooldown_ms=None)  # the heads-up's cool-down
    assert [h for _, h, _ in fired(AlertEngine(daily).evaluate(scores))] == [0, 30, 100, week]


def test_the_confident_cool_down_survives_a_restart(rows: Rows, tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'api.db'}")
    upgrade_schema(engine)
    sessions = make_sessionmaker(engine)
    assert fired(ScoreIntake(sessions, RULES).apply(rows(("a", 0, 0.9, None)))) == [
        ("a", 0, "confident")
    ]
    restarted = ScoreIntake(sessions, RULES)  # the state comes from the store
    assert restarted.apply(rows(("a", 5, 0.2, None), ("a", 30, 0.9, None))) == []
    week = RULES.confident_cooldown // HOUR_MS
    again = ScoreIntake(sessions, RULES)
    assert again.apply(rows(("a", 31, 0.2, None))) == []
    assert fired(again.apply(rows(("a", week, 0.9, None)))) == [("a", week, "confident")]


def test_rows_without_creators_take_a_heads_up_level_of_their_own(
    make_scores: Callable[..., pl.DataFrame],
) -> None:
    def row(pid: str, h: int, p72: float, creators: float) -> pl.DataFrame:
        return make_scores(
            {pid: 0.1}, TICK_MS + h * HOUR_MS, probability_72h=p72, creators_24h=creators
        )

    scores = pl.concat(
        [
            row("counter", 0, 0.35, 0.0),  # no creators: at its own level 0.3
            row("counter", 1, 0.25, 0.0),  # above its re-arm level 0.2: still disarmed
            row("counter", 30, 0.15, 0.0),  # under 0.2: re-armed
            row("counter", 31, 0.32, 0.0),  # fires again
            row("stream", 0, 0.35, 5.0),  # with creators: under 0.5, nothing
            row("stream", 1, 0.55, 5.0),
        ]
    )
    own = dataclasses.replace(
        RULES, heads_up_without_creators_threshold=0.3, heads_up_without_creators_rearm_below=0.2
    )
    assert fired(AlertEngine(own).evaluate(scores)) == [
        ("counter", 0, "heads_up"),
        ("stream", 1, "heads_up"),
        ("counter", 31, "heads_up"),
    ]
    # Unset, every row takes the one threshold (the counter's 0.35 stays under 0.5).
    one = dataclasses.replace(RULES, heads_up_without_creators_threshold=None)
    assert fired(AlertEngine(one).evaluate(scores)) == [("stream", 1, "heads_up")]
    with pytest.raises(ValueError, match="without_creators"):
        dataclasses.replace(own, heads_up_without_creators_rearm_below=0.4)


def test_confident_levels_of_rows_without_creators_and_of_baselines(
    make_scores: Callable[..., pl.DataFrame],
) -> None:
    def row(pid: str, h: int, p24: float, creators: float, version: str = "m-1") -> pl.DataFrame:
        return make_scores(
            {pid: p24}, TICK_MS + h * HOUR_MS, creators_24h=creators, model_version=version
        )

    baseline = f"{UNCALIBRATED_PREFIX}growth-24h"
    scores = pl.concat(
        [
            row("counter", 0, 0.65, 0.0),  # no creators: under its own level 0.7, nothing
            row("counter", 1, 0.75, 0.0),  # fires
            row("stream", 0, 0.45, 5.0),  # with creators: at the threshold 0.4
            row("ratio", 0, 0.45, 0.0, baseline),  # a baseline's strength: under its 0.56
            row("ratio", 1, 0.6, 0.0, baseline),  # fires, though it has no creators
        ]
    )
    rules = dataclasses.replace(
        RULES,
        threshold=0.4,
        rearm_below=0.3,
        confident_cooldown_ms=0,
        without_creators_threshold=0.7,
        without_creators_rearm_below=0.5,
        without_creators_hold_ms=0,  # alert at once (the hold: the next test)
        baseline_threshold=0.56,
        baseline_rearm_below=0.4,
    )
    assert fired(AlertEngine(rules).evaluate(scores)) == [
        ("stream", 0, "confident"),
        ("counter", 1, "confident"),
        ("ratio", 1, "confident"),
    ]
    # Hysteresis at its own re-arm level: 0.55 is under 0.7 but not under 0.5.
    again = pl.concat([row("c", 0, 0.8, 0.0), row("c", 1, 0.55, 0.0), row("c", 2, 0.8, 0.0)])
    assert fired(AlertEngine(rules).evaluate(again)) == [("c", 0, "confident")]
    rearmed = pl.concat([again, row("c", 3, 0.45, 0.0), row("c", 4, 0.8, 0.0)])
    assert fired(AlertEngine(rules).evaluate(rearmed)) == [
        ("c", 0, "confident"),
        ("c", 4, "confident"),
    ]
    # Unset, a model's rows without creators take the threshold.
    one = dataclasses.replace(rules, without_creators_threshold=None)
    assert ("counter", 0, "confident") in fired(AlertEngine(one).evaluate(scores))
    with pytest.raises(ValueError, match="without_creators"):
        dataclasses.replace(rules, without_creators_rearm_below=0.8)
    with pytest.raises(ValueError, match="baseline"):
        dataclasses.replace(rules, baseline_rearm_below=0.6)


HOLD_RULES = dataclasses.replace(
    RULES,
    threshold=0.4,
    rearm_below=0.3,
    without_creators_threshold=0.35,
    without_creators_rearm_below=0.25,
    without_creators_hold_ms=6 * HOUR_MS,
)
HELD = [0.1, 0.4, 0.5, 0.3, 0.4, 0.45, 0.5, 0.5, 0.5, 0.5, 0.6, 0.6, 0.2, 0.1]


def held_scores(make_scores: Callable[..., pl.DataFrame]) -> pl.DataFrame:
    """A views-only burst of two hours, another on a counter first seen in it, a
    views-only rise that stays up, and the same rise on a stream with creators."""
    burst = [0.1, 0.9, 0.8, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]
    return pl.concat(
        [
            make_scores({pid: p}, TICK_MS + h * HOUR_MS, creators_24h=creators)
            for pid, series, creators in (
                ("burst", burst, 0.0),
                ("new", burst[1:], 0.0),
                ("rise", HELD, 0.0),
                ("stream", HELD, 3.0),
            )
            for h, p in enumerate(series)
        ]
    ).sort("tick_ms")


def test_rows_without_creators_alert_once_they_have_held_their_level(
    make_scores: Callable[..., pl.DataFrame], tmp_path: Path
) -> None:
    """A burst that lifts a views-only counter for two hours alerts nothing, nor does one
    on a counter first seen in it (the hold counts from the first row); a rise alerts
    when it has stayed at or above its level for the hold (the last row under it, 0.3 at
    hour 3, six hours back), in one pass, any batching and across restarts."""
    scores = held_scores(make_scores)
    whole = fired(AlertEngine(HOLD_RULES).evaluate(scores))
    assert whole == [("stream", 1, "confident"), ("rise", 9, "confident")]
    at_once = dataclasses.replace(HOLD_RULES, without_creators_hold_ms=0)
    assert {("burst", 1, "confident"), ("new", 0, "confident")} <= set(
        fired(AlertEngine(at_once).evaluate(scores))
    )
    for cut in range(1, scores.height):
        engine = AlertEngine(HOLD_RULES)
        assert fired(engine.evaluate(scores[:cut]) + engine.evaluate(scores[cut:])) == whole
    store = make_engine(f"sqlite:///{tmp_path / 'api.db'}")
    upgrade_schema(store)
    sessions = make_sessionmaker(store)
    alerts = []
    for _, batch in scores.group_by("tick_ms", maintain_order=True):
        alerts += ScoreIntake(sessions, HOLD_RULES).apply(batch)  # a restart per tick
    assert fired(alerts) == whole


def test_any_batching_gives_the_alerts_of_one_pass(rows: Rows) -> None:
    points = []
    for h in range(60):
        points.append(("a", h, 0.7 if 20 <= h < 23 or h > 50 else 0.2, 0.6 if h % 17 < 5 else 0.1))
        points.append(("b", h, 0.65 if h % 13 == 0 else 0.1, 0.9 if 10 <= h < 12 else 0.2))
    scores = rows(*points)
    whole = fired(AlertEngine(RULES).evaluate(scores))
    assert {t for _, _, t in whole} == {"heads_up", "confident"}
    for cut in range(1, scores.height, 7):
        engine = AlertEngine(RULES)
        parts = engine.evaluate(scores[:cut]) + engine.evaluate(scores[cut:])
        assert sorted(fired(parts), key=lambda f: (f[1], f[0])) == sorted(
            whole, key=lambda f: (f[1], f[0])
        )
    engine = AlertEngine(RULES)
    per_tick = []
    for _, batch in scores.group_by("tick_ms", maintain_order=True):
        per_tick += engine.evaluate(batch)
    assert fired(per_tick) == whole


def test_the_heads_up_state_survives_a_restart(rows: Rows, tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'api.db'}")
    upgrade_schema(engine)
    sessions = make_sessionmaker(engine)
    first = ScoreIntake(sessions, RULES).apply(rows(("a", 0, 0.1, 0.8)))
    assert fired(first) == [("a", 0, "heads_up")]
    again = ScoreIntake(sessions, RULES)  # a restart: the state comes from the store
    assert not again.engine.states["a"].heads_up_armed
    assert again.apply(rows(("a", 1, 0.1, 0.9))) == []
    assert again.apply(rows(("a", 2, 0.1, 0.1), ("a", 3, 0.1, 0.7))) == []  # cool-down
    restarted = ScoreIntake(sessions, RULES)
    assert restarted.apply(rows(("a", 4, 0.1, 0.1))) == []
    assert fired(restarted.apply(rows(("a", 30, 0.1, 0.7)))) == [("a", 30, "heads_up")]


def test_tier_of_a_score_is_the_highest_threshold_it_reaches() -> None:
    assert RULES.tier_of(0.6, 0.1) == "confident"
    assert RULES.tier_of(0.2, 0.5) == "heads_up"
    assert RULES.tier_of(0.2, None) is None and RULES.tier_of(0.59, 0.49) is None
    no_tier = AlertRules(threshold=0.6, rearm_below=0.4, heads_up_threshold=None)
    assert no_tier.tier_of(0.2, 0.9) is None
    # Rows without creators take their own heads-up level, as the engine does.
    own = dataclasses.replace(RULES, heads_up_without_creators_threshold=0.8)
    assert own.tier_of(0.2, 0.7, creators_24h=0.0) is None
    assert own.tier_of(0.2, 0.85, creators_24h=0.0) == "heads_up"
    assert own.tier_of(0.2, 0.7, creators_24h=3.0) == "heads_up"
    assert own.tier_of(0.2, 0.7) == "heads_up"  # creators unknown
    # And their own confident level; a baseline's strength its level, creators or not.
    levels = dataclasses.replace(RULES, without_creators_threshold=0.8, baseline_threshold=0.5)
    assert levels.tier_of(0.7, None, creators_24h=0.0) is None
    assert levels.tier_of(0.7, None, creators_24h=2.0) == "confident"
    assert levels.tier_of(0.55, None, creators_24h=0.0, calibrated=False) == "confident"
    assert levels.tier_of(0.45, None, creators_24h=2.0, calibrated=False) is None
    # A row that must hold its level shows the confident tier once it has held it.
    assert HOLD_RULES.needs_hold(0.0) and not HOLD_RULES.needs_hold(2.0)
    assert not HOLD_RULES.needs_hold(0.0, calibrated=False)
    assert HOLD_RULES.tier_of(0.5, None, creators_24h=0.0, held=False) is None
    assert HOLD_RULES.tier_of(0.5, None, creators_24h=0.0) == "confident"
    assert HOLD_RULES.tier_of(0.5, None, creators_24h=3.0, held=False) == "confident"
    assert HOLD_RULES.has_held(None, TICK_MS)
    assert HOLD_RULES.has_held(TICK_MS - 6 * HOUR_MS, TICK_MS)
    assert not HOLD_RULES.has_held(TICK_MS - 5 * HOUR_MS, TICK_MS)


def test_webhook_payloads_carry_the_tier_and_no_chance_without_one(
    rows: Rows, tmp_path: Path
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'api.db'}")
    upgrade_schema(engine)
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        session.add(Subscription(url="https://hooks.example.com/", secret=generate_secret()))
    intake = ScoreIntake(sessions, RULES, on_alert=enqueue_alert)
    intake.apply(rows(("a", 0, 0.1, 0.8), ("b", 0, 0.9, 0.2)))
    baseline = rows(("c", 0, 0.7, 0.2)).with_columns(
        model_version=pl.lit(f"{UNCALIBRATED_PREFIX}growth-24h"), score=pl.lit(6.24)
    )
    intake.apply(baseline)
    with sessions() as session:
        payloads = [json.loads(d.payload)["data"] for d in session.scalars(select(Delivery))]
    by_product = {p["product_id"]: p for p in payloads}
    assert {pid: p["tier"] for pid, p in by_product.items()} == {
        "a": "heads_up",
        "b": "confident",
        "c": "confident",
    }
    assert by_product["a"]["message"].startswith("Bersiap: Produk a mulai naik")
    # A growth baseline's strength is no chance: the message gives the growth.
    assert by_product["c"]["message"] == (
        "Produk c sedang naik di Jawa Tengah: naik 6,2× dibanding hari biasa minggu lalu."
    )


def test_the_page_shows_the_confident_tier_once_the_level_is_held(
    make_scores: Callable[..., pl.DataFrame], tmp_path: Path
) -> None:
    """The seller page reads the engine's state: a views-only product at the level shows
    the confident tier only from the row where it would alert."""
    engine = make_engine(f"sqlite:///{tmp_path / 'api.db'}")
    upgrade_schema(engine)
    sessions = make_sessionmaker(engine)
    intake = ScoreIntake(sessions, HOLD_RULES)

    def tier_at(hour: int, p: float) -> str | None:
        intake.apply(make_scores({"c": p}, TICK_MS + hour * HOUR_MS, creators_24h=0.0))
        with sessions() as session:
            view = product_view(session, "c", HOLD_RULES)
        assert view is not None
        return view.card.tier

    assert tier_at(0, 0.1) is None
    assert [tier_at(h, 0.9) for h in range(1, 6)] == [None] * 5  # under it at hour 0
    assert tier_at(6, 0.9) == "confident"
