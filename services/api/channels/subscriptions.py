"""Seller subscriptions in the store: made from the page, found by token, ended for good.

Callers own the transaction. Ending a subscription deletes its row and its deliveries,
so the address it held is gone with it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from services.api.channels.models import (
    ChannelDelivery,
    ChannelName,
    DeliveryKind,
    SellerSubscription,
    SignupMark,
    SubscriptionStatus,
)
from services.api.db import utcnow
from services.api.webhooks.models import DeliveryStatus

# Telegram's deep-link parameter allows 1-64 of [A-Za-z0-9_-]: token_urlsafe(24) gives 32.
TOKEN_BYTES = 24
SIGNUP_WINDOW = timedelta(days=1)
# Channels whose address the form takes, and that message it at once (a confirmation
# mail, a WhatsApp welcome). Telegram links the chat that pressed Start; a push endpoint
# is the subscriber's own browser.
LIMITED_CHANNELS = frozenset({ChannelName.EMAIL, ChannelName.WHATSAPP})


@dataclass(frozen=True)
class Choice:
    """What a seller picks on the page."""

    categories: list[str]
    regions: list[str]
    min_probability: float
    language: str
    digest: bool = False


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def create(
    session: Session, channel: ChannelName, choice: Choice, address: str | None, now: datetime
) -> SellerSubscription:
    """A new subscription. WhatsApp is active at once (the page recorded the opt-in), and
    so is web push (the browser's permission prompt was it); Telegram waits for the chat
    to send /start, email for the mailed confirmation."""
    subscription = SellerSubscription(
        token=new_token(),
        channel=channel.value,
        address=address,
        created_at=now,
        consent_at=now,
    )
    apply_choice(subscription, choice)
    session.add(subscription)
    session.flush()
    if channel in (ChannelName.WHATSAPP, ChannelName.WEB_PUSH):
        activate(session, subscription, now)
    elif channel == ChannelName.EMAIL:
        add_notice(session, subscription, "confirm", now)
    return subscription


def recipient_hash(channel: ChannelName, address: str) -> str:
    """What the per-recipient limit keeps instead of the address."""
    return hashlib.sha256(f"{channel.value}:{address.strip().lower()}".encode()).hexdigest()


def note_signup(
    session: Session, channel: ChannelName, address: str, per_day: int, now: datetime
) -> float:
    """Count a sign-up of `address` and return 0, or, when it already had `per_day` in
    the last 24 h, count nothing and return the seconds until it may be signed up again.
    Marks older than the window are deleted by the retention job."""
    if channel not in LIMITED_CHANNELS:
        return 0.0
    since = now - SIGNUP_WINDOW
    key = recipient_hash(channel, address)
    count, oldest = session.execute(
        select(func.count(), func.min(SignupMark.created_at)).where(
            SignupMark.recipient_hash == key, SignupMark.created_at >= since
        )
    ).one()
    if count >= per_day:
        return max(1.0, (oldest + SIGNUP_WINDOW - now).total_seconds())
    session.add(SignupMark(recipient_hash=key, created_at=now))
    return 0.0


def apply_choice(subscription: SellerSubscription, choice: Choice) -> None:
    subscription.categories = sorted(choice.categories) or None
    subscription.regions = sorted(choice.regions) or None
    subscription.min_probability = choice.min_probability
    subscription.language = choice.language
    subscription.digest = choice.digest and subscription.channel == ChannelName.EMAIL.value


def by_token(session: Session, token: str) -> SellerSubscription | None:
    if not token or len(token) > 64:
        return None
    return session.scalar(select(SellerSubscription).where(SellerSubscription.token == token))


def activate(session: Session, subscription: SellerSubscription, now: datetime) -> None:
    """Start sending; the welcome message says so and carries the manage link."""
    if subscription.status == SubscriptionStatus.ACTIVE.value:
        return
    subscription.status = SubscriptionStatus.ACTIVE.value
    subscription.confirmed_at = now
    add_notice(session, subscription, "welcome", now)


def add_notice(
    session: Session, subscription: SellerSubscription, notice: str, now: datetime
) -> None:
    """Queue a confirmation or welcome message (once per subscription: its key)."""
    exists = session.scalar(
        select(ChannelDelivery.id).where(
            ChannelDelivery.subscription_id == subscription.id, ChannelDelivery.key == notice
        )
    )
    if exists is None:
        items = [{"notice": notice}]
        session.add(
            ChannelDelivery.queued(subscription, DeliveryKind.NOTICE, notice, items, now, now)
        )


def link_telegram_chat(session: Session, token: str, chat_id: int) -> bool:
    """`/start <token>` from a chat: the subscription now sends there. False if unknown."""
    subscription = by_token(session, token)
    if subscription is None or subscription.channel != ChannelName.TELEGRAM.value:
        return False
    if subscription.status == SubscriptionStatus.DISABLED.value:
        subscription.status = SubscriptionStatus.PENDING.value  # unblocked and came back
    subscription.address = str(chat_id)
    activate(session, subscription, utcnow())
    return True


def end(session: Session, subscription: SellerSubscription) -> None:
    """Unsubscribe: the row, its address and its deliveries are deleted; nothing more is sent."""
    session.execute(
        delete(ChannelDelivery).where(ChannelDelivery.subscription_id == subscription.id)
    )
    session.delete(subscription)


def end_telegram_chat(session: Session, chat_id: int) -> int:
    """`/stop` from a chat ends every subscription sending there; returns how many."""
    subscriptions = session.scalars(
        select(SellerSubscription).where(
            SellerSubscription.channel == ChannelName.TELEGRAM.value,
            SellerSubscription.address == str(chat_id),
        )
    ).all()
    for subscription in subscriptions:
        end(session, subscription)
    return len(subscriptions)


def disable(session: Session, subscription: SellerSubscription, reason: str) -> None:
    """The recipient is gone: forget the address and stop its pending deliveries."""
    subscription.status = SubscriptionStatus.DISABLED.value
    subscription.address = None
    subscription.disabled_reason = reason[:200]
    session.execute(
        update(ChannelDelivery)
        .where(
            ChannelDelivery.subscription_id == subscription.id,
            ChannelDelivery.status == DeliveryStatus.PENDING.value,
        )
        .values(status=DeliveryStatus.DISABLED.value, lease_token=None, lease_until=None)
        .execution_options(synchronize_session="fetch")
    )
