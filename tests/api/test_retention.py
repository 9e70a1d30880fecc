"""Retention on both stores: old score history, alerts and finished deliveries go, in
bounded transactions; recent rows and pending deliveries stay; the API runs it itself."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services.api.app import create_app
from services.api.channels.models import ChannelDelivery, SellerSubscription, SignupMark
from services.api.retention import DAY_MS, RetentionPolicy, prune
from services.api.store import AlertRecord, ScoreHistory, save_alert, save_scores
from services.api.webhooks.models import Delivery, DeliveryStatus, Subscription
from shared.settings import ApiSettings

TICK_MS = 1_772_409_600_000
NOW = datetime(2026, 3, 2, tzinfo=UTC)
POLICY = RetentionPolicy(scores_days=7, alerts_days=30, deliveries_days=3)


def _alert(pid: str, tick_ms: int) -> dict[str, Any]:
    return {
        "id": f"{pid}-{tick_ms}",
        "product_id": pid,
        "tick_ms": tick_ms,
        "category": "makanan",
        "probability": 0.9,
    }


def _fill(sessions: sessionmaker[Session], make_scores: Callable[..., Any]) -> None:
    """Newest tick TICK_MS; history daily for 20 days back; alerts 10, 40, 50 days old;
    deliveries (webhook and seller channel) 1 and 5 days old in every status."""
    with sessions.begin() as session:
        for day in range(20, -1, -1):
            save_scores(
                session, make_scores({f"p{i}": 0.5 for i in range(3)}, TICK_MS - day * DAY_MS)
            )
        for days in (10, 40, 50):
            save_alert(session, _alert("p0", TICK_MS - days * DAY_MS))
        subscription = Subscription(url="https://hooks.koperasi.test/", secret="whsec_x")
        session.add(subscription)
        session.flush()
        for n, (age_days, status) in enumerate(
            (age, status) for age in (1, 5) for status in DeliveryStatus
        ):
            created = NOW - timedelta(days=age_days)
            session.add(
                Delivery(
                    subscription_id=subscription.id,
                    msg_id=f"msg_{n}",
                    event_type="trend.alert",
                    payload="{}",
                    status=status.value,
                    created_at=created,
                    next_attempt_at=created,
                )
            )
        seller = SellerSubscription(
            token="t" * 32, channel="telegram", address="1", status="active"
        )
        session.add(seller)
        for n, days in enumerate((6, 8)):  # never confirmed; a week is the limit
            pending = SellerSubscription(
                token=f"pending{n}",
                channel="email",
                address=f"{n}@warung.example",
                created_at=NOW - timedelta(days=days),
            )
            session.add(pending)
            session.flush()
            session.add(  # its confirmation mail, never delivered: goes with it
                ChannelDelivery(
                    subscription_id=pending.id,
                    channel="email",
                    kind="notice",
                    key="confirm",
                    payload="[]",
                    status="failed",
                    created_at=NOW - timedelta(days=days),
                    next_attempt_at=NOW,
                )
            )
        session.flush()
        for n, (age_days, status) in enumerate(
            (age, status) for age in (1, 5) for status in DeliveryStatus
        ):
            created = NOW - timedelta(days=age_days)
            session.add(
                ChannelDelivery(
                    subscription_id=seller.id,
                    channel="telegram",
                    kind="alert",
                    key=f"alert-{n}",
                    payload="[]",
                    status=status.value,
                    created_at=created,
                    next_attempt_at=created,
                )
            )


def _fill_signup_marks(sessions: sessionmaker[Session]) -> None:
    """Sign-up marks of 25 h ago (past the limit's day) and of 1 h ago."""
    with sessions.begin() as session:
        for hours in (25, 1):
            session.add(
                SignupMark(recipient_hash=f"h{hours}", created_at=NOW - timedelta(hours=hours))
            )


def _history_days(session: Session) -> list[int]:
    ticks = session.scalars(select(ScoreHistory.tick_ms).distinct().order_by(ScoreHistory.tick_ms))
    return [(TICK_MS - t) // DAY_MS for t in ticks]


def test_old_rows_go_recent_ones_stay_in_bounded_transactions(
    sessions: sessionmaker[Session], make_scores: Callable[..., Any]
) -> None:
    _fill(sessions, make_scores)
    _fill_signup_marks(sessions)
    result = prune(sessions, POLICY, now=NOW, chunk_rows=4)
    with sessions() as session:
        assert _history_days(session) == [7, 6, 5, 4, 3, 2, 1, 0]  # 7 days back is kept
        alert_ages = session.scalars(select(AlertRecord.tick_ms)).all()
        assert [(TICK_MS - t) // DAY_MS for t in alert_ages] == [10]
        for table in (Delivery, ChannelDelivery):
            rows = session.scalars(select(table))
            kept = {(d.status, (NOW - d.created_at).days) for d in rows}
            expected = {(s.value, 1) for s in DeliveryStatus} | {(DeliveryStatus.PENDING.value, 5)}
            assert kept == expected, table
        pending = session.scalars(
            select(SellerSubscription.token).where(SellerSubscription.status == "pending")
        )
        assert list(pending) == ["pending0"]
        assert session.scalars(select(SignupMark.recipient_hash)).all() == ["h1"]
    assert result.deleted == {
        "scores_history": 13 * 3,
        "alerts": 2,
        "seller_subscriptions": 1,
        "seller_signup_marks": 1,
        "webhook_deliveries": 3,
        "channel_deliveries": 3 + 1,  # + the finished notice of the younger pending one
    }
    # At most 4 rows a transaction: 39 history rows need 10, every other table 1, but the
    # 4 channel deliveries fill one, so a second finds nothing left.
    assert result.transactions == math.ceil(39 / 4) + 1 + 1 + 1 + 1 + 2
    assert prune(sessions, POLICY, now=NOW).deleted == {
        "scores_history": 0,
        "alerts": 0,
        "seller_subscriptions": 0,
        "seller_signup_marks": 0,
        "webhook_deliveries": 0,
        "channel_deliveries": 0,
    }


def test_chunks_are_bounded_by_ten_thousand(sessions: sessionmaker[Session]) -> None:
    with pytest.raises(ValueError, match="chunk_rows"):
        prune(sessions, POLICY, chunk_rows=10_001)


def test_an_empty_store_prunes_nothing(sessions: sessionmaker[Session]) -> None:
    assert prune(sessions, POLICY).deleted == {
        "seller_subscriptions": 0,
        "seller_signup_marks": 0,
        "webhook_deliveries": 0,
        "channel_deliveries": 0,
    }


def test_the_api_prunes_on_its_schedule(
    database_url: str, make_scores: Callable[..., Any], wait_until: Callable[..., None]
) -> None:
    settings = ApiSettings(
        database_url=database_url,
        run_dispatcher=False,
        retention_scores_days=7,
        retention_interval_min=0.005,  # 0.3 s
    )
    app = create_app(settings)
    sessions = app.state.sessionmaker
    with sessions.begin() as session:
        for day in (30, 8, 0):
            save_scores(session, make_scores({"p": 0.5}, TICK_MS - day * DAY_MS))

    def history() -> list[int]:
        with sessions() as session:
            return _history_days(session)

    assert history() == [30, 8, 0]
    with TestClient(app):
        wait_until(lambda: history() == [0])
        job = app.state.retention
        runs = job.runs
        with sessions.begin() as session:  # a newer tick ages the rest out on a later run
            save_scores(session, make_scores({"p": 0.5}, TICK_MS + 10 * DAY_MS))
        wait_until(lambda: job.runs > runs and history() == [-10])
    sessions.kw["bind"].dispose()
