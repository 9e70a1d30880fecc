"""The channel outbox as the webhook dispatcher sees it: claim, attempt, record.

Same leases as webhook deliveries: a claim writes a token and an expiry in one short
transaction; the result is recorded only while the lease is held; a dispatcher that
died mid-delivery leaves rows any dispatcher takes again once the lease runs out.
Each channel is one endpoint of the dispatcher's gate (fair share of the workers, a
circuit breaker for a provider that is down), plus a send rate of its own and a pause
when the provider says when to come back (Telegram's `retry_after`).
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from services.api.channels import subscriptions
from services.api.channels.base import Channel, SendResult
from services.api.channels.messages import render
from services.api.channels.models import (
    ChannelDelivery,
    DeliveryKind,
    SellerSubscription,
    SubscriptionStatus,
)
from services.api.channels.outbox import quiet_hours
from services.api.channels.policy import TokenBucket
from services.api.db import utcnow
from services.api.webhooks.attempts import next_delay_s
from services.api.webhooks.models import DeliveryStatus
from shared import metrics
from shared.logs import log_event
from shared.settings import SellerAlertSettings, WebhookSettings

log = logging.getLogger(__name__)
# One idempotency key per (subscription, alert): the same on every attempt and replica.
_KEY_NAMESPACE = uuid.UUID("6f1d7c9e-4a51-4e8b-9c39-5d1f0c2a7b64")
# A provider refusing the operator's credentials is retried no sooner than this.
MISCONFIGURED_PAUSE_S = 60.0


def endpoint(channel: str) -> str:
    """The dispatcher gate's name for a channel's provider."""
    return f"channel:{channel}"


class ChannelLane:
    """Claims and sends seller deliveries for the dispatcher. Thread-safe."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        channels: Mapping[str, Channel],
        rates_per_s: Mapping[str, float],
        seller: SellerAlertSettings,
        webhooks: WebhookSettings,
    ) -> None:
        self._sessions = sessions
        self.channels = dict(channels)
        self._seller = seller
        self._quiet = quiet_hours(seller)
        self._delays_s = webhooks.retry_delays_s
        self._jitter_ratio = webhooks.jitter_ratio
        self._lease_s = webhooks.lease_s
        self._rng = random.Random()
        self._lock = threading.Lock()
        now_s = time.monotonic()
        self._buckets = {
            name: TokenBucket(rates_per_s[name], max(1.0, rates_per_s[name]), now_s)
            for name in self.channels
        }
        self._paused_until_s: dict[str, float] = {}

    # -- claim -------------------------------------------------------------------------------

    def claim(self, free: int, allowance: Callable[[str], int]) -> list[tuple[int, str, str]]:
        """Lease due deliveries: per channel at most its gate allowance and send rate, in
        all at most `free`. Returns (delivery id, gate endpoint, lease token)."""
        now_s = time.monotonic()
        budget: dict[str, int] = {}
        with self._lock:
            for name, bucket in self._buckets.items():
                if self._paused_until_s.get(name, 0.0) > now_s:
                    continue
                n = min(bucket.available(now_s), allowance(endpoint(name)))
                if n > 0:
                    budget[name] = n
        if free <= 0 or not budget:
            return []
        now = utcnow()
        claimable = (
            ChannelDelivery.status == DeliveryStatus.PENDING.value,
            ChannelDelivery.next_attempt_at <= now,
            or_(ChannelDelivery.lease_until.is_(None), ChannelDelivery.lease_until <= now),
        )
        token = uuid.uuid4().hex
        chosen: list[int] = []
        with self._sessions.begin() as session:
            for name, n in budget.items():
                take = min(n, free - len(chosen))
                if take <= 0:
                    break
                chosen += session.scalars(
                    select(ChannelDelivery.id)
                    .where(ChannelDelivery.channel == name, *claimable)
                    .order_by(ChannelDelivery.next_attempt_at, ChannelDelivery.id)
                    .limit(take)
                ).all()
            if not chosen:
                return []
            # Conditional on the same predicate: of two dispatchers racing, one wins a row.
            session.execute(
                update(ChannelDelivery)
                .where(ChannelDelivery.id.in_(chosen), *claimable)
                .values(lease_token=token, lease_until=now + timedelta(seconds=self._lease_s))
                .execution_options(synchronize_session=False)
            )
            won = session.execute(
                select(ChannelDelivery.id, ChannelDelivery.channel).where(
                    ChannelDelivery.lease_token == token
                )
            ).all()
        with self._lock:
            for _, name in won:
                self._buckets[name].take(1, now_s)
        return [(delivery_id, endpoint(name), token) for delivery_id, name in won]

    # -- one attempt -------------------------------------------------------------------------

    def attempt(self, delivery_id: int, token: str) -> bool | None:
        """Send one claimed delivery and record the result. Returns whether the provider
        failed (for the gate's breaker), or None when no request was made."""
        now = utcnow()
        with self._sessions() as session:
            delivery = session.get(ChannelDelivery, delivery_id)
            if delivery is None or delivery.lease_token != token:
                return None
            subscription = session.get(SellerSubscription, delivery.subscription_id)
            channel = self.channels.get(delivery.channel)
            waiting = (  # only a notice (the mail confirmation) goes before activation
                subscription is not None
                and subscription.status != SubscriptionStatus.ACTIVE.value
                and delivery.kind != DeliveryKind.NOTICE.value
            )
            if subscription is None or waiting or not subscription.address or channel is None:
                return None  # unsubscribed, disabled or not linked: the lease runs out
            if delivery.kind == DeliveryKind.ALERT.value and self._quiet.is_quiet(now):
                # A retry that came due in the quiet hours waits for the morning.
                self._postpone(delivery_id, token, self._quiet.next_allowed(now))
                return None
            key = str(uuid.uuid5(_KEY_NAMESPACE, f"{subscription.id}:{delivery.key}"))
            message = render(
                delivery.kind,
                json.loads(delivery.payload),
                token=subscription.token,
                language=subscription.language,
                public_url=self._seller.public_url,
                key=key,
            )
            address, name = subscription.address, delivery.channel
        started = time.monotonic()
        result = channel.send(address, message)
        metrics.SELLER_DELIVERIES.labels(channel=name, outcome=result.outcome).inc()
        self._record(delivery_id, token, name, result, time.monotonic() - started)
        return result.outcome in ("retry", "misconfigured")

    def _postpone(self, delivery_id: int, token: str, until: datetime) -> None:
        with self._sessions.begin() as session:
            session.execute(
                update(ChannelDelivery)
                .where(ChannelDelivery.id == delivery_id, ChannelDelivery.lease_token == token)
                .values(next_attempt_at=until, lease_token=None, lease_until=None)
            )

    def _pause(self, channel: str, seconds: float) -> None:
        with self._lock:
            until = time.monotonic() + seconds
            self._paused_until_s[channel] = max(self._paused_until_s.get(channel, 0.0), until)

    def _record(
        self, delivery_id: int, token: str, channel: str, result: SendResult, duration_s: float
    ) -> None:
        now = utcnow()
        disabled = False
        with self._sessions.begin() as session:
            delivery = session.scalar(
                select(ChannelDelivery).where(
                    ChannelDelivery.id == delivery_id,
                    ChannelDelivery.lease_token == token,
                    ChannelDelivery.status == DeliveryStatus.PENDING.value,
                )
            )
            if delivery is None:  # lease lost, or unsubscribed meanwhile (row deleted)
                log_event(log, "channel.lease_lost", level=logging.WARNING, delivery_id=delivery_id)
                return
            delivery.lease_token = None
            delivery.lease_until = None
            delivery.last_error = result.error
            if result.outcome == "delivered":
                delivery.attempts += 1
                delivery.status = DeliveryStatus.DELIVERED.value
                delivery.delivered_at = now
            elif result.outcome == "retry" and result.retry_after_s is not None:
                # The provider's flood control: not a failed attempt, and the whole
                # channel waits, since the limit is the bot's, not this chat's.
                delivery.next_attempt_at = now + timedelta(seconds=result.retry_after_s)
                self._pause(channel, result.retry_after_s)
            elif result.outcome in ("retry", "misconfigured"):
                delivery.attempts += 1
                if result.outcome == "misconfigured":
                    self._pause(channel, MISCONFIGURED_PAUSE_S)
                delay_s = next_delay_s(
                    self._delays_s, delivery.attempts, self._jitter_ratio, self._rng
                )
                if delay_s is None:
                    delivery.status = DeliveryStatus.FAILED.value
                else:
                    delivery.next_attempt_at = now + timedelta(seconds=delay_s)
            elif result.outcome == "failed":
                delivery.attempts += 1
                delivery.status = DeliveryStatus.FAILED.value
            else:  # recipient_gone
                delivery.attempts += 1
                subscription = session.get_one(SellerSubscription, delivery.subscription_id)
                subscriptions.disable(session, subscription, result.error or "recipient gone")
                delivery.status = DeliveryStatus.DISABLED.value
                disabled = True
            fields: dict[str, Any] = {
                "delivery_id": delivery.id,
                "subscription_id": delivery.subscription_id,
                "channel": channel,
                "kind": delivery.kind,
                "key": delivery.key,
                "attempt": delivery.attempts,
                "outcome": result.outcome,
                "error": result.error,
                "duration_ms": round(duration_s * 1000, 1),
                "status": delivery.status,
                "next_attempt_at": delivery.next_attempt_at,
            }
        level = logging.ERROR if result.outcome == "misconfigured" else logging.INFO
        log_event(log, "channel.attempt", level=level, **fields)
        if disabled:
            log_event(
                log,
                "channel.subscription_disabled",
                level=logging.WARNING,
                subscription_id=fields["subscription_id"],
                reason=result.error,
            )

    def close(self) -> None:
        for channel in self.channels.values():
            channel.close()
