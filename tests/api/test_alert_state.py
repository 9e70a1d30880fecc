"""Alert state is exact and durable: any batching, any restart (a new `ScoreIntake` over the
same store) and any redelivered batch give the alerts of one pass over the scores."""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select
from sqlalchemy.orm import sessionmaker

from services.api.db import make_engine, make_sessionmaker
from services.api.intake import ScoreIntake
from services.api.schema import upgrade_schema
from services.api.store import AlertRecord, AlertStateRecord, save_alert, save_scores
from shared.alerts import AlertEngine, AlertRules

TICK_MS = 1_772_409_600_000
HOUR_MS = 3_600_000
# A day between two confident alerts (the default is a week), so re-alerts after a re-arm
# come within the few days these tests span.
RULES = AlertRules(
    threshold=0.6, rearm_below=0.4, cooldown_ms=24 * HOUR_MS, confident_cooldown_ms=None
)


def _store(directory: Path) -> sessionmaker:
    """A SQLite store of its own, for tests of the engine's logic that need several."""
    engine = make_engine(f"sqlite:///{directory / 'api.db'}")
    upgrade_schema(engine)
    return make_sessionmaker(engine)


@pytest.fixture
def store(sessions: sessionmaker) -> sessionmaker:
    """The fresh store, on each backend."""
    return sessions


Row = tuple[str, float, int]  # product, probability, hours after TICK_MS
Scores = Callable[..., pl.DataFrame]


@pytest.fixture(scope="module")
def scores(make_scores: Scores) -> Scores:
    """`scores(*rows)`: one batch of score rows."""

    def build(*rows: Row) -> pl.DataFrame:
        return pl.concat([make_scores({pid: p}, TICK_MS + h * HOUR_MS) for pid, p, h in rows])

    return build


def _stored_ticks(sessions: sessionmaker) -> list[tuple[str, int]]:
    with sessions() as session:
        rows = session.execute(
            select(AlertRecord.product_id, AlertRecord.tick_ms).order_by(AlertRecord.seq)
        )
        return [(pid, (tick - TICK_MS) // HOUR_MS) for pid, tick in rows]


def test_an_alert_after_a_rearm_survives_restarts(store: sessionmaker, scores: Scores) -> None:
    # The product falls below the re-arm level, then sits at 0.5 when the API restarts:
    # it is armed, so 0.9 thirty hours later alerts, as it does in one process.
    for row in [("a", 0.9, 0), ("a", 0.3, 1), ("a", 0.5, 2), ("a", 0.9, 30)]:
        ScoreIntake(store, RULES).apply(scores(row))
    assert _stored_ticks(store) == [("a", 0), ("a", 30)]


def test_rearming_inside_one_batch_counts(tmp_path: Path, scores: Scores) -> None:
    rows = [("a", 0.9, 0), ("a", 0.3, 30), ("a", 0.9, 60)]
    one = _store(tmp_path / "one")
    new = ScoreIntake(one, RULES).apply(scores(*reversed(rows)))  # order within: any
    assert [(a["product_id"], a["tick_ms"]) for a in new] == [
        ("a", TICK_MS),
        ("a", TICK_MS + 60 * HOUR_MS),
    ]
    three = _store(tmp_path / "three")
    intake = ScoreIntake(three, RULES)
    for row in rows:
        intake.apply(scores(row))
    assert _stored_ticks(one) == _stored_ticks(three) == [("a", 0), ("a", 60)]


def test_a_redelivered_batch_changes_nothing(store: sessionmaker, scores: Scores) -> None:
    first, dip, again = scores(("a", 0.9, 0)), scores(("a", 0.3, 1)), scores(("a", 0.9, 30))
    intake = ScoreIntake(store, RULES)
    intake.apply(first)
    intake.apply(dip)
    # The first batch again, after the dip re-armed the product: no alert, and the product
    # stays armed, so the next rise is not lost.
    assert intake.apply(first) == []
    assert ScoreIntake(store, RULES).apply(first) == []
    assert [a["tick_ms"] for a in intake.apply(again)] == [TICK_MS + 30 * HOUR_MS]
    # Everything redelivered, to this intake and to a restarted one: nothing new.
    for batch in (first, dip, again):
        assert intake.apply(batch) == []
        assert ScoreIntake(store, RULES).apply(batch) == []
    assert _stored_ticks(store) == [("a", 0), ("a", 30)]


def test_a_failed_transaction_leaves_the_engine_where_the_store_is(
    store: sessionmaker, scores: Scores
) -> None:
    def fail(_session: object, _alert: object) -> None:
        raise RuntimeError("outbox write failed")

    failing = ScoreIntake(store, RULES, on_alert=fail)
    batch = scores(("a", 0.9, 0))
    with pytest.raises(RuntimeError):
        failing.apply(batch)
    # The batch comes again (its offsets were never committed): the alert is raised now.
    failing.on_alert = None
    assert [a["tick_ms"] for a in failing.apply(batch)] == [TICK_MS]
    assert _stored_ticks(store) == [("a", 0)]


def test_a_store_from_before_alert_state_resumes_without_repeating(
    store: sessionmaker, scores: Scores
) -> None:
    # Scores and alerts as an API without `alert_state` wrote them: "a" alerted and stays
    # high, "b" alerted and fell below the re-arm level since.
    with store.begin() as session:
        for batch in (scores(("a", 0.9, 0), ("b", 0.9, 0)), scores(("a", 0.8, 1), ("b", 0.2, 1))):
            save_scores(session, batch)
        for alert in AlertEngine(RULES).evaluate(scores(("a", 0.9, 0), ("b", 0.9, 0))):
            save_alert(session, alert)
        session.execute(delete(AlertStateRecord))
    intake = ScoreIntake(store, RULES)
    assert intake.apply(scores(("a", 0.9, 2))) == []
    assert [a["product_id"] for a in intake.apply(scores(("a", 0.9, 30), ("b", 0.9, 30)))] == ["b"]


def _one_pass(rows: list[Row], rules: AlertRules) -> list[tuple[str, int]]:
    """The rules stated row by row, in tick order: the reference for every batching."""
    armed: dict[str, bool] = {}
    fired: dict[str, int] = {}
    alerts = []
    for pid, p, hour in sorted(rows, key=lambda r: (r[2], r[0])):
        tick = hour * HOUR_MS
        if p < rules.rearm_below:
            armed[pid] = True
        elif p >= rules.threshold and armed.get(pid, True):
            armed[pid] = False
            if pid not in fired or tick - fired[pid] >= rules.confident_cooldown:
                fired[pid] = tick
                alerts.append((pid, hour))
    return alerts


LEVELS = st.sampled_from([0.1, 0.39, 0.4, 0.5, 0.6, 0.95])


@st.composite
def runs(draw: st.DrawFn) -> tuple[list[Row], list[int], list[str]]:
    """Score rows in tick order, cut points, and what happens with each batch."""
    hours, rows, hour = draw(st.integers(1, 40)), [], 0
    for _ in range(hours):
        hour += draw(st.sampled_from([1, 5, 12, 24]))
        for pid in sorted(draw(st.sets(st.sampled_from(["a", "b", "c"]), min_size=1))):
            rows.append((pid, draw(LEVELS), hour))
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(rows) - 1)), max_size=len(rows))))
    after = draw(
        st.lists(
            st.sampled_from(["go on", "restart", "redeliver", "again"]),
            min_size=len(cuts) + 1,
            max_size=len(cuts) + 1,
        )
    )
    return rows, cuts, after


@given(run=runs(), seed=st.integers(0, 2**16))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_batching_restart_and_redelivery_give_the_alerts_of_one_pass(
    scores: Scores, run: tuple[list[Row], list[int], list[str]], seed: int
) -> None:
    rows, cuts, after = run
    with tempfile.TemporaryDirectory() as tmp:
        sessions = _store(Path(tmp))
        intake = ScoreIntake(sessions, RULES)
        bounds = [0, *cuts, len(rows)]
        batches = [
            scores(*rows[a:b]).sample(fraction=1.0, shuffle=True, seed=seed)
            for a, b in itertools.pairwise(bounds)
            if b > a
        ]
        raised = []
        for i, (batch, then) in enumerate(zip(batches, after, strict=False)):
            earlier = batches[seed % (i + 1)]
            # "again": an earlier batch re-sent into the same poll as this one.
            raised += intake.apply(pl.concat([earlier, batch]) if then == "again" else batch)
            if then == "restart":
                intake = ScoreIntake(sessions, RULES)
            elif then == "redeliver":
                raised += intake.apply(earlier)
        expected = _one_pass(rows, RULES)
        assert [(a["product_id"], (a["tick_ms"] - TICK_MS) // HOUR_MS) for a in raised] == expected
        assert _stored_ticks(sessions) == expected
