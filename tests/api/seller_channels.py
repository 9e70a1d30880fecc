"""Helpers for the seller-channel tests: an API with channels pointed at local servers,
an SMTP server in the test process (aiosmtpd), alerts from score rows, and the page's
subscribe flow driven through real HTTP forms."""

from __future__ import annotations

import email
import email.policy
import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from services.api.app import create_app
from services.api.channels.models import ChannelDelivery, SellerSubscription
from services.api.channels.service import ChannelSettings
from services.api.webhooks.dispatcher import Dispatcher
from shared.settings import ApiSettings, SellerAlertSettings, WebhookSettings

PUBLIC_URL = "http://pantau.test"
FAST = WebhookSettings(
    allow_cidrs="127.0.0.0/8",
    retry_schedule="0s,0.1s,0.2s",
    request_timeout_s=0.5,
    lease_s=3.0,
    poll_interval_s=0.02,
    jitter_ratio=0.0,
    breaker_failures=50,
)
# Quiet hours off (start == end) so a test's outcome does not depend on the hour it runs.
ALWAYS = SellerAlertSettings(
    public_url=PUBLIC_URL, quiet_start_hour_wib=0, quiet_end_hour_wib=0, daily_cap=100
)


@dataclass
class MailBox:
    """What the SMTP server received; `refuse` maps an address to an SMTP reply."""

    mails: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        mail = email.message_from_bytes(raw, policy=email.policy.default)
        with self.lock:
            self.mails.append(mail)
            self.envelopes.append((str(envelope.mail_from), list(envelope.rcpt_tos)))
        return "250 Message accepted"

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.mails if m["To"] == address]


@contextmanager
def smtp_server() -> Iterator[tuple[MailBox, int]]:
    box = MailBox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


def make_app(database_url: str, channels: ChannelSettings) -> FastAPI:
    settings = ApiSettings(
        database_url=database_url,
        run_dispatcher=False,
        consume_scores=False,
        run_retention=False,
    )
    return create_app(settings, webhooks=FAST, channels=channels)


def dispatcher(app: FastAPI) -> Dispatcher:
    return Dispatcher(app.state.sessionmaker, FAST, lane=app.state.channels.lane)


def subscribe(client: TestClient, **form: Any) -> str:
    """Post the page's form (urlencoded, as a browser without script does); the token."""
    response = client.post("/langganan", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    match = re.fullmatch(r"/langganan/([A-Za-z0-9_-]{32})(\?lang=en)?", location)
    assert match, location
    return match.group(1)


def links(text: str) -> list[str]:
    return re.findall(r"https?://\S+", text)


def subscription_rows(app: FastAPI) -> list[SellerSubscription]:
    with app.state.sessionmaker() as session:
        return list(session.scalars(select(SellerSubscription)))


def delivery_rows(app: FastAPI) -> list[ChannelDelivery]:
    with app.state.sessionmaker() as session:
        return list(session.scalars(select(ChannelDelivery).order_by(ChannelDelivery.id)))
