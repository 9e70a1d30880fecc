"""What one attempt's result does to its delivery and subscription.

Retries follow the schedule: entry i is the wait before attempt i+1, so a schedule of
n entries allows n attempts. A subscription answering 410 Gone, or failing without a
single success for longer than `disable_after_failing_s`, is disabled and its pending
deliveries stop.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from services.api.webhooks.models import Delivery, DeliveryStatus, Subscription
from services.api.webhooks.transport import AttemptResult


def next_delay_s(
    delays_s: Sequence[float], attempts: int, jitter_ratio: float, rng: random.Random
) -> float | None:
    """Wait before the attempt after `attempts` failed ones; None once the schedule is spent."""
    if attempts >= len(delays_s):
        return None
    return delays_s[attempts] * rng.uniform(1 - jitter_ratio, 1 + jitter_ratio)


def disable_subscription(
    session: Session, subscription: Subscription, reason: str, now: datetime
) -> int:
    """Disable `subscription` and stop its pending deliveries; returns how many were stopped."""
    subscription.disabled_at = now
    subscription.disabled_reason = reason[:500]
    result = session.execute(
        update(Delivery)
        .where(
            Delivery.subscription_id == subscription.id,
            Delivery.status == DeliveryStatus.PENDING.value,
        )
        .values(status=DeliveryStatus.DISABLED.value, lease_token=None, lease_until=None)
        .execution_options(synchronize_session="fetch")
    )
    # An UPDATE gives a CursorResult; Session.execute is typed as returning Result.
    return int(result.rowcount or 0)  # type: ignore[attr-defined]  # CursorResult, see above


def apply_result(
    session: Session,
    delivery: Delivery,
    subscription: Subscription,
    result: AttemptResult,
    *,
    now: datetime,
    delays_s: Sequence[float],
    jitter_ratio: float,
    disable_after_failing_s: float,
    rng: random.Random,
) -> str | None:
    """Record `result` on `delivery`; returns the reason if the subscription got disabled."""
    delivery.attempts += 1
    delivery.last_status_code = result.status_code
    delivery.last_error = result.error
    delivery.lease_token = None
    delivery.lease_until = None
    if result.outcome == "success":
        delivery.status = DeliveryStatus.DELIVERED.value
        delivery.delivered_at = now
        subscription.failing_since = None
        return None
    reason = None
    if result.outcome == "gone":
        reason = "endpoint answered 410 Gone"
    elif subscription.failing_since is None:
        subscription.failing_since = now
    elif now - subscription.failing_since > timedelta(seconds=disable_after_failing_s):
        reason = (
            f"every delivery failed since {subscription.failing_since.isoformat()} "
            f"(more than {disable_after_failing_s:g} s); last error: {result.error}"
        )
    if reason is not None:
        disable_subscription(session, subscription, reason, now)
        delivery.status = DeliveryStatus.DISABLED.value
        return reason
    delay_s = next_delay_s(delays_s, delivery.attempts, jitter_ratio, rng)
    if delay_s is None:
        delivery.status = DeliveryStatus.FAILED.value
    else:
        delivery.next_attempt_at = now + timedelta(seconds=delay_s)
    return None
