"""Writing messages into the delivery outbox, inside the caller's transaction.

An alert and its webhook deliveries commit together or not at all; the dispatcher
only ever reads committed rows, so nothing is sent for an alert that was rolled back.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.api.db import utcnow
from services.api.webhooks.models import Delivery, Subscription

ALERT_EVENT = "trend.alert"
TEST_EVENT = "trend.test"

_TEST_MESSAGE = {
    "id": "Ini pesan uji dari Pantau. Webhook Anda berfungsi.",
    "en": "This is a test message from Pantau. Your webhook works.",
}


def new_msg_id() -> str:
    return "msg_" + secrets.token_urlsafe(18)


def rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def encode_body(event_type: str, timestamp: str, data: Mapping[str, Any]) -> str:
    """The Standard Webhooks envelope, serialised once: these exact bytes are signed."""
    envelope = {"type": event_type, "timestamp": timestamp, "data": data}
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":"))


def passes_filters(
    categories: list[str] | None,
    regions: list[str] | None,
    min_probability: float | None,
    alert: Mapping[str, Any],
) -> bool:
    """Does `alert` pass category, region and minimum-probability filters (empty: any)?"""
    if categories and alert.get("category") not in categories:
        return False
    if regions and not set(regions) & set(alert.get("regions") or ()):
        return False
    return float(alert["probability"]) >= (min_probability or 0.0)


def matches(subscription: Subscription, alert: Mapping[str, Any]) -> bool:
    """Does `alert` pass the subscription's category, region and minimum-score filters?"""
    return passes_filters(
        subscription.categories, subscription.regions, subscription.min_score, alert
    )


def add_delivery(
    session: Session, subscription: Subscription, event_type: str, body: str
) -> Delivery:
    now = utcnow()
    delivery = Delivery(
        subscription_id=subscription.id,
        msg_id=new_msg_id(),
        event_type=event_type,
        payload=body,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(delivery)
    return delivery


def enqueue_alert(session: Session, alert: Mapping[str, Any]) -> int:
    """Queue `alert` for every active subscription whose filters it passes.

    Runs inside the caller's transaction and does not commit. Returns the number of
    deliveries queued. The payload's `data` is the alert plus `message` in the
    subscription's language; its `timestamp` is the alert's tick time.
    """
    active = session.scalars(select(Subscription).where(Subscription.disabled_at.is_(None)))
    queued = 0
    for subscription in active:
        if not matches(subscription, alert):
            continue
        data = {**alert, "message": alert[f"message_{subscription.language}"]}
        add_delivery(
            session, subscription, ALERT_EVENT, encode_body(ALERT_EVENT, alert["ts"], data)
        )
        queued += 1
    return queued


def enqueue_test(session: Session, subscription: Subscription) -> Delivery:
    """Queue a `trend.test` message (does not commit)."""
    now = utcnow()
    data = {"subscription_id": subscription.id, "message": _TEST_MESSAGE[subscription.language]}
    delivery = add_delivery(
        session, subscription, TEST_EVENT, encode_body(TEST_EVENT, rfc3339(now), data)
    )
    session.flush()
    return delivery
