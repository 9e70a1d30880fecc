"""Queueing alerts for sellers, inside the transaction that stores the alert.

Like the webhook outbox: an alert and its channel deliveries commit together, so none
is lost to a crash and none is queued for an alert that was rolled back. Here the
seller's rules apply as the rows are written: their filters and level (which tiers,
`levels.py`), the quiet hours (the row waits until they end), the daily cap, and the
morning digest for email.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.api.channels.levels import wants
from services.api.channels.models import (
    ChannelDelivery,
    DeliveryKind,
    SellerSubscription,
    SubscriptionStatus,
)
from services.api.channels.policy import QuietHours, day_start_wib, next_hour_wib
from services.api.db import utcnow
from services.api.webhooks.models import DeliveryStatus
from services.api.webhooks.outbox import passes_filters
from shared import metrics
from shared.settings import SellerAlertSettings


def quiet_hours(settings: SellerAlertSettings) -> QuietHours:
    return QuietHours(settings.quiet_start_hour_wib, settings.quiet_end_hour_wib)


def enqueue_seller_alert(
    session: Session,
    alert: Mapping[str, Any],
    settings: SellerAlertSettings,
    now: datetime | None = None,
) -> int:
    """Queue `alert` for every active seller subscription it matches; returns the rows
    queued or extended (digests). Does not commit."""
    now = now or utcnow()
    active = session.scalars(
        select(SellerSubscription).where(
            SellerSubscription.status == SubscriptionStatus.ACTIVE.value
        )
    )
    matching = [
        s
        for s in active
        if s.address
        and passes_filters(s.categories, s.regions, None, alert)
        and wants(s.min_probability, alert)
    ]
    if not matching:
        return 0
    sent_today = _alerts_since(session, [s.id for s in matching], day_start_wib(now))
    send_at = quiet_hours(settings).next_allowed(now)
    queued = 0
    for subscription in matching:
        if subscription.digest:
            _add_to_digest(
                session, subscription, alert, next_hour_wib(now, settings.digest_hour_wib)
            )
        elif sent_today.get(subscription.id, 0) >= settings.daily_cap:
            metrics.SELLER_ALERTS_CAPPED.inc()
            continue
        else:
            session.add(
                ChannelDelivery(
                    subscription_id=subscription.id,
                    channel=subscription.channel,
                    kind=DeliveryKind.ALERT.value,
                    key=str(alert["id"]),
                    payload=json.dumps([dict(alert)], ensure_ascii=False),
                    next_attempt_at=send_at,
                    created_at=now,
                )
            )
        queued += 1
    return queued


def _alerts_since(session: Session, ids: list[int], since: datetime) -> dict[int, int]:
    """Alert deliveries queued per subscription since `since` (the cap counts them)."""
    rows = session.execute(
        select(ChannelDelivery.subscription_id, func.count())
        .where(
            ChannelDelivery.subscription_id.in_(ids),
            ChannelDelivery.kind == DeliveryKind.ALERT.value,
            ChannelDelivery.created_at >= since,
        )
        .group_by(ChannelDelivery.subscription_id)
    ).all()
    return {sid: int(n) for sid, n in rows}


def _add_to_digest(
    session: Session, subscription: SellerSubscription, alert: Mapping[str, Any], at: datetime
) -> None:
    """Add `alert` to the subscriber's next morning digest: one row per morning, keyed by
    its date, and claimable only from that morning on, so no alert joins a digest that
    is already being sent. The row is locked (PostgreSQL) as two replicas may append."""
    key = f"digest:{at.date().isoformat()}"
    row = session.scalar(
        select(ChannelDelivery)
        .where(ChannelDelivery.subscription_id == subscription.id, ChannelDelivery.key == key)
        .with_for_update()
    )
    if row is None:
        session.add(
            ChannelDelivery(
                subscription_id=subscription.id,
                channel=subscription.channel,
                kind=DeliveryKind.DIGEST.value,
                key=key,
                payload=json.dumps([dict(alert)], ensure_ascii=False),
                next_attempt_at=at,
                created_at=utcnow(),
            )
        )
        return
    if row.status != DeliveryStatus.PENDING.value:
        return
    alerts = json.loads(row.payload)
    if all(a.get("id") != alert["id"] for a in alerts):
        row.payload = json.dumps([*alerts, dict(alert)], ensure_ascii=False)
