"""The seller channels of one API process: which are configured, their lane for the
dispatcher, the Telegram update reader, the web push key the page subscribes with, and
the hook that queues alerts for sellers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from services.api.channels.base import Channel
from services.api.channels.email import EmailChannel
from services.api.channels.lane import ChannelLane
from services.api.channels.models import ChannelName
from services.api.channels.outbox import enqueue_seller_alert
from services.api.channels.telegram import TelegramBot, UpdateReader
from services.api.channels.webpush import WebPushChannel
from services.api.channels.whatsapp import WhatsAppChannel
from shared.settings import (
    SellerAlertSettings,
    SmtpSettings,
    TelegramSettings,
    WebhookSettings,
    WebPushSettings,
    WhatsAppSettings,
)


@dataclass(frozen=True)
class ChannelSettings:
    """Every seller-channel setting; each part reads its own `PANTAU_*` prefix."""

    seller: SellerAlertSettings = field(default_factory=lambda: SellerAlertSettings())
    telegram: TelegramSettings = field(default_factory=lambda: TelegramSettings())
    whatsapp: WhatsAppSettings = field(default_factory=lambda: WhatsAppSettings())
    smtp: SmtpSettings = field(default_factory=lambda: SmtpSettings())
    webpush: WebPushSettings = field(default_factory=lambda: WebPushSettings())


class SellerChannels:
    """Builds the configured channels; a channel without credentials is simply absent
    (not offered on the page, nothing queued for it)."""

    def __init__(
        self,
        settings: ChannelSettings,
        sessions: sessionmaker[Session],
        webhooks: WebhookSettings,
    ) -> None:
        self.settings = settings
        channels: dict[str, Channel] = {}
        rates: dict[str, float] = {}
        self.reader: UpdateReader | None = None
        self.telegram_username = ""
        self.webpush: WebPushChannel | None = None
        self.webpush_public_key = ""  # the page's `applicationServerKey`
        if settings.whatsapp.access_token is not None and settings.whatsapp.phone_number_id:
            channels["whatsapp"] = WhatsAppChannel(settings.whatsapp)
            rates["whatsapp"] = settings.whatsapp.rate_per_s
        if settings.telegram.bot_token is not None:
            bot = TelegramBot(settings.telegram)
            channels["telegram"] = bot
            rates["telegram"] = settings.telegram.rate_per_s
            self.telegram_username = settings.telegram.bot_username
            if settings.telegram.poll_updates:
                self.reader = UpdateReader(bot, sessions, settings.telegram.poll_timeout_s)
        if settings.smtp.host:
            channels["email"] = EmailChannel(settings.smtp)
            rates["email"] = settings.smtp.rate_per_s
        if settings.webpush.vapid_private_key is not None:
            push = WebPushChannel(settings.webpush, webhooks.allow_networks)
            channels["webpush"] = self.webpush = push
            rates["webpush"] = settings.webpush.rate_per_s
            self.webpush_public_key = push.public_key
        _check_lease(webhooks.lease_s, settings, channels)
        self.enabled = [ChannelName(name) for name in channels]
        self.lane = ChannelLane(sessions, channels, rates, settings.seller, webhooks)

    def enqueue(self, session: Session, alert: Mapping[str, Any]) -> int:
        """Queue `alert` for matching sellers, in the caller's transaction."""
        if not self.enabled:
            return 0
        return enqueue_seller_alert(session, alert, self.settings.seller)

    def start(self) -> None:
        if self.reader is not None:
            self.reader.start()

    def stop(self) -> None:
        if self.reader is not None:
            self.reader.stop(timeout_s=1.0)
        self.lane.close()


def _check_lease(lease_s: float, settings: ChannelSettings, channels: Mapping[str, Any]) -> None:
    """A claimed delivery must be sent and recorded within its lease, or another
    dispatcher may take it over while the first send is still under way and send it
    again. An SMTP send is several exchanges (connect, TLS, login, data), each bounded by
    the timeout, hence the same 3× margin the webhook settings keep."""
    timeouts = {
        "telegram": ("PANTAU_TELEGRAM_REQUEST_TIMEOUT_S", settings.telegram.request_timeout_s),
        "whatsapp": ("PANTAU_WHATSAPP_REQUEST_TIMEOUT_S", settings.whatsapp.request_timeout_s),
        "email": ("PANTAU_SMTP_TIMEOUT_S", settings.smtp.timeout_s),
        "webpush": ("PANTAU_WEBPUSH_REQUEST_TIMEOUT_S", settings.webpush.request_timeout_s),
    }
    for name in channels:
        variable, timeout_s = timeouts[name]
        if lease_s <= 3 * timeout_s:
            raise ValueError(
                f"PANTAU_WEBHOOK_LEASE_S ({lease_s:g}) must exceed 3 × {variable} ({timeout_s:g})"
            )
