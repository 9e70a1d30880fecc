"""Queueing alerts for matching subscriptions inside the caller's transaction."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from services.api.db import utcnow
from services.api.webhooks.models import Delivery, Subscription
from services.api.webhooks.outbox import enqueue_alert, matches
from services.api.webhooks.signing import generate_secret

ALERT: dict[str, Any] = {
    "id": "p1@1735689900000",
    "product_id": "p1",
    "product_name": "Kopi susu gula aren",
    "category": "minuman",
    "regions": ["ID-JT", "ID-YO"],
    "probability": 0.82,
    "score": 1.7,
    "model_version": "m7",
    "reasons": [{"text_id": "dibagikan 3x lipat", "text_en": "shares tripled"}],
    "message_id": "Kopi susu gula aren sedang naik",
    "message_en": "Palm-sugar iced coffee is rising",
    "ts": "2025-01-01T00:05:00Z",
    "tick_ms": 1735689900000,
}


def sub(**fields: Any) -> Subscription:
    return Subscription(url="https://hooks.example.com/", secret=generate_secret(), **fields)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, True),
        ({"categories": ["minuman", "makanan"]}, True),
        ({"categories": ["fashion"]}, False),
        ({"regions": ["ID-YO"]}, True),
        ({"regions": ["ID-JK", "ID-BA"]}, False),
        ({"min_score": 0.82}, True),
        ({"min_score": 0.83}, False),
        ({"categories": ["minuman"], "regions": ["ID-JT"], "min_score": 0.5}, True),
        ({"categories": [], "regions": []}, True),
    ],
)
def test_filters(fields: dict[str, Any], expected: bool) -> None:
    assert matches(sub(**fields), ALERT) is expected


def test_enqueue_alert_queues_matching_active_subscriptions(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        session.add_all(
            [
                sub(language="id"),
                sub(language="en", regions=["ID-JT"]),
                sub(categories=["fashion"]),
                sub(disabled_at=utcnow(), disabled_reason="410"),
            ]
        )
    with sessions.begin() as session:
        assert enqueue_alert(session, ALERT) == 2
    with sessions() as session:
        rows = list(session.scalars(select(Delivery).order_by(Delivery.subscription_id)))
    assert [(d.subscription_id, d.status, d.attempts) for d in rows] == [
        (1, "pending", 0),
        (2, "pending", 0),
    ]
    assert len({d.msg_id for d in rows}) == 2 and all(d.msg_id.startswith("msg_") for d in rows)
    bodies = [json.loads(d.payload) for d in rows]
    assert bodies[0] == {
        "type": "trend.alert",
        "timestamp": "2025-01-01T00:05:00Z",
        "data": {**ALERT, "message": ALERT["message_id"]},
    }
    assert bodies[1]["data"]["message"] == ALERT["message_en"]
    assert "Kopi susu gula aren" in rows[0].payload  # UTF-8 as is, no \\u escapes


def test_enqueue_alert_does_not_commit(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        session.add(sub())
    with sessions() as session:
        assert enqueue_alert(session, ALERT) == 1
        session.rollback()  # the caller's alert transaction failed
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Delivery)) == 0
