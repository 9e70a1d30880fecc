"""WhatsApp alerts against a local server answering like the Cloud API: the opt-in on the
page, template messages, throughput limits (130429), 5xx, an expired access token (190),
a number not on WhatsApp (133010) and a template the API does not know (132001)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from _providers import FakeWhatsApp, graph_error
from fastapi.testclient import TestClient
from pydantic import SecretStr
from seller_channels import (
    ALWAYS,
    PUBLIC_URL,
    delivery_rows,
    dispatcher,
    make_app,
    subscribe,
    subscription_rows,
)

from services.api.channels.service import ChannelSettings, SellerChannels
from services.api.channels.whatsapp import normalise_number
from shared.settings import WebhookSettings, WhatsAppSettings

TICK_MS = 1_772_409_600_000
ACCESS_TOKEN = "EAAG-test-token"
PHONE_ID = "106540352242922"
NUMBER = "6281234567890"


def whatsapp_app(
    database_url: str, api_url: str, token: str = ACCESS_TOKEN, template: str = "pantau_alert"
) -> Any:
    settings = WhatsAppSettings(
        access_token=SecretStr(token),
        phone_number_id=PHONE_ID,
        api_url=api_url,
        template_name=template,
        request_timeout_s=0.9,
    )
    return make_app(database_url, ChannelSettings(seller=ALWAYS, whatsapp=settings))


@pytest.fixture
def whatsapp(database_url: str) -> Iterator[tuple[Any, TestClient, FakeWhatsApp]]:
    fake = FakeWhatsApp(ACCESS_TOKEN, PHONE_ID, {"pantau_alert"})
    with fake.running() as url:
        app = whatsapp_app(database_url, url)
        with TestClient(app) as client:
            yield app, client, fake


def test_normalise_number() -> None:
    assert normalise_number("0812-3456-7890") == NUMBER
    assert normalise_number("+62 812 3456 7890") == NUMBER
    assert normalise_number("812 3456 7890") == NUMBER
    assert normalise_number("021 555 1234") is None  # a landline has no WhatsApp alerts
    assert normalise_number("12") is None


def test_opt_in_then_template_alerts(
    whatsapp: tuple[Any, TestClient, FakeWhatsApp], make_scores: Callable[..., Any]
) -> None:
    app, client, fake = whatsapp
    refused = client.post("/langganan", data={"channel": "whatsapp", "phone": "0812 3456 7890"})
    assert refused.status_code == 422 and "Centang persetujuan" in refused.text
    token = subscribe(client, channel="whatsapp", phone="0812 3456 7890", consent="1")
    [subscription] = subscription_rows(app)
    assert subscription.address == NUMBER and subscription.consent_at is not None
    app.state.intake.apply(make_scores({"rendang": 0.95}, TICK_MS))
    dispatcher(app).run_once()
    # Sent side by side by the worker pool, so in either order.
    welcome, alert = sorted(
        fake.texts(NUMBER), key=lambda params: params[0] != "Langganan Pantau aktif"
    )
    assert welcome[0] == "Langganan Pantau aktif"
    assert alert == [
        "Produk rendang",
        "naik di Jawa Tengah",
        "Sangat mungkin viral dalam 24 jam. Peluang viral 95% dalam 24 jam.",
        "naik 8×",
        f"{PUBLIC_URL}/produk/rendang",
        f"{PUBLIC_URL}/langganan/{token}",
    ]
    path, body = fake.requests[-1]
    assert path == f"/{PHONE_ID}/messages"
    assert body["template"]["language"] == {"code": "id"}
    assert body["recipient_type"] == "individual" and body["to"] == NUMBER
    assert {d.status for d in delivery_rows(app)} == {"delivered"}


def test_rate_limits_and_server_errors_are_retried(
    whatsapp: tuple[Any, TestClient, FakeWhatsApp], make_scores: Callable[..., Any]
) -> None:
    app, client, fake = whatsapp
    subscribe(client, channel="whatsapp", phone=NUMBER, consent="1")
    fake.fail_next(
        graph_error(500, 131000, "Something went wrong"),
        graph_error(503, 131016, "Service unavailable"),
    )
    send = dispatcher(app)
    deadline = time.monotonic() + 10
    while not fake.texts(NUMBER) and time.monotonic() < deadline:
        send.run_once()
        time.sleep(0.05)
    [welcome] = delivery_rows(app)
    assert welcome.status == "delivered" and welcome.attempts == 3
    # The business number's throughput limit pauses the whole channel.
    fake.fail_next(graph_error(400, 130429, "(#130429) Rate limit hit"))
    app.state.intake.apply(make_scores({"a": 0.95}, TICK_MS))
    send.run_once()
    send.run_once()
    alert = delivery_rows(app)[-1]
    assert alert.status == "pending" and alert.attempts == 0
    assert "130429" in (alert.last_error or "")
    assert len(fake.texts(NUMBER)) == 1


def test_a_number_not_on_whatsapp_disables_the_subscription(
    whatsapp: tuple[Any, TestClient, FakeWhatsApp],
) -> None:
    app, client, fake = whatsapp
    fake.not_on_whatsapp.add(NUMBER)
    subscribe(client, channel="whatsapp", phone=NUMBER, consent="1")
    dispatcher(app).run_once()
    [subscription] = subscription_rows(app)
    assert subscription.status == "disabled" and subscription.address is None
    assert "133010" in (subscription.disabled_reason or "")


@pytest.mark.parametrize(
    ("token", "template", "status", "error"),
    [
        ("EAAG-expired", "pantau_alert", "pending", "190"),  # operator's token: waits
        (ACCESS_TOKEN, "not_approved", "failed", "132001"),  # this message can never go
    ],
)
def test_operator_errors_never_drop_the_seller(
    database_url: str, token: str, template: str, status: str, error: str
) -> None:
    fake = FakeWhatsApp(ACCESS_TOKEN, PHONE_ID, {"pantau_alert"})
    with fake.running() as url:
        app = whatsapp_app(database_url, url, token=token, template=template)
        with TestClient(app) as client:
            subscribe(client, channel="whatsapp", phone=NUMBER, consent="1")
            dispatcher(app).run_once()
            [welcome] = delivery_rows(app)
            assert welcome.status == status and error in (welcome.last_error or "")
            assert subscription_rows(app)[0].status == "active"


def test_a_lease_shorter_than_a_send_is_refused(sessions: Any) -> None:
    """Else a slow send could be taken over by another dispatcher and sent twice."""
    settings = WhatsAppSettings(
        access_token=SecretStr(ACCESS_TOKEN), phone_number_id=PHONE_ID, request_timeout_s=11.0
    )
    short = WebhookSettings(lease_s=31.0, request_timeout_s=10.0)
    with pytest.raises(ValueError, match="PANTAU_WHATSAPP_REQUEST_TIMEOUT_S"):
        SellerChannels(ChannelSettings(whatsapp=settings), sessions, short)
    SellerChannels(
        ChannelSettings(whatsapp=settings),
        sessions,
        WebhookSettings(lease_s=34.0, request_timeout_s=1.0),
    ).stop()
