"""Seller subscriptions and their deliveries: the channel outbox."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from services.api.db import Base, UTCDateTime, utcnow


class ChannelName(enum.StrEnum):
    TELEGRAM = "telegram"
    WHATSAPP = "whatsapp"
    EMAIL = "email"
    WEB_PUSH = "webpush"  # the address: the browser's push endpoint and keys (JSON)


class SubscriptionStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for the chat link (Telegram) or the mail confirmation
    ACTIVE = "active"
    DISABLED = "disabled"  # the recipient is gone (blocked the bot, number not on WhatsApp)


class DeliveryKind(enum.StrEnum):
    ALERT = "alert"  # one alert, sent at once (outside quiet hours)
    DIGEST = "digest"  # a morning's alerts in one mail
    NOTICE = "notice"  # a confirmation or welcome message


class SellerSubscription(Base):
    """What a seller asked for. `address` is the least that reaches them (a Telegram chat
    id, a WhatsApp number, a mail address, a push subscription's endpoint and keys); it is
    never logged and goes with the row."""

    __tablename__ = "seller_subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Unguessable: whoever holds it may change or end the subscription.
    token: Mapped[str] = mapped_column(String(64), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str | None] = mapped_column(String(2048), default=None)
    status: Mapped[str] = mapped_column(String(16), default=SubscriptionStatus.PENDING.value)
    categories: Mapped[list[str] | None] = mapped_column(JSON, default=None)  # None: all
    regions: Mapped[list[str] | None] = mapped_column(JSON, default=None)  # None: all
    min_probability: Mapped[float] = mapped_column(Float, default=0.3)
    language: Mapped[str] = mapped_column(String(2), default="id")
    digest: Mapped[bool] = mapped_column(default=False)  # email: one mail at 06:00 WIB
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    disabled_reason: Mapped[str | None] = mapped_column(String(200), default=None)


class ChannelDelivery(Base):
    """One message to one seller. (subscription, key) is unique: the idempotency key of
    an alert (its id) or a digest (its morning), so a redelivered score batch or a
    second API replica never queues the same message twice."""

    __tablename__ = "channel_deliveries"
    __table_args__ = (
        UniqueConstraint("subscription_id", "key", name="uq_channel_deliveries_key"),
        Index("ix_channel_deliveries_due", "channel", "status", "next_attempt_at"),
        Index("ix_channel_deliveries_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("seller_subscriptions.id", ondelete="CASCADE")
    )
    channel: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(64))
    # JSON: the alerts to tell about (a list; one for an alert, several for a digest).
    payload: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    last_error: Mapped[str | None] = mapped_column(String(500), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    lease_token: Mapped[str | None] = mapped_column(String(64), default=None)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
