"""Email alerts end to end: subscribe on the page, confirm, get alerts from an SMTP server
in the test process, and unsubscribe with one click (RFC 8058). Both stores."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from seller_channels import (
    ALWAYS,
    PUBLIC_URL,
    MailBox,
    delivery_rows,
    dispatcher,
    links,
    make_app,
    smtp_server,
    subscribe,
    subscription_rows,
)

from services.api.channels.service import ChannelSettings
from shared.settings import SmtpSettings

TICK_MS = 1_772_409_600_000
HOUR_MS = 3_600_000
ADDRESS = "penjual@warung.example"


@pytest.fixture
def mail_api(database_url: str) -> Iterator[tuple[Any, TestClient, MailBox]]:
    with smtp_server() as (box, port):
        smtp = SmtpSettings(host="127.0.0.1", port=port, starttls=False, timeout_s=0.9)
        app = make_app(database_url, ChannelSettings(seller=ALWAYS, smtp=smtp))
        with TestClient(app) as client:
            yield app, client, box


def test_subscribe_confirm_alert_and_one_click_unsubscribe(
    mail_api: tuple[Any, TestClient, MailBox], make_scores: Callable[..., Any]
) -> None:
    app, client, box = mail_api
    send = dispatcher(app)
    form = client.get("/langganan")
    assert form.status_code == 200 and 'name="email"' in form.text
    token = subscribe(
        client, category="makanan", region="ID-JT", level="naik", channel="email", email=ADDRESS
    )
    page = client.get(f"/langganan/{token}")
    assert "Satu langkah lagi" in page.text  # waiting for the confirmation

    # The confirmation mail links to the manage page; nothing else goes out before it.
    send.run_once()
    [confirm] = box.to(ADDRESS)
    assert f"{PUBLIC_URL}/langganan/{token}" in links(confirm.get_content())
    app.state.intake.apply(make_scores({"keripik": 0.95}, TICK_MS))
    send.run_once()
    assert len(box.to(ADDRESS)) == 1  # not confirmed yet: the alert was not queued

    assert client.post(f"/langganan/{token}/konfirmasi", follow_redirects=False).status_code == 303
    assert "Aktif" in client.get(f"/langganan/{token}").text
    app.state.intake.apply(make_scores({"rendang": 0.95}, TICK_MS + HOUR_MS))
    # Another category, and a province the seller did not pick: not for this seller.
    app.state.intake.apply(make_scores({"hijab": 0.95}, TICK_MS + HOUR_MS, category="fashion"))
    app.state.intake.apply(make_scores({"sambal": 0.95}, TICK_MS + HOUR_MS, top_regions=["ID-BA"]))
    send.run_once()
    # The welcome and the first alert are sent at once, so they may arrive in either order.
    welcome, alert = sorted(box.to(ADDRESS)[1:], key=lambda m: "aktif" not in m["Subject"].lower())
    assert "aktif" in welcome["Subject"].lower()
    assert (
        alert["Subject"] == "Sangat mungkin viral dalam 24 jam. Produk rendang naik di Jawa Tengah"
    )
    body = alert.get_content()
    assert "Peluang viral 95% dalam 24 jam." in body
    assert "Kenapa: naik 8×." in body
    assert f"{PUBLIC_URL}/produk/rendang" in links(body)
    unsubscribe = f"{PUBLIC_URL}/langganan/{token}/berhenti"
    assert alert["List-Unsubscribe"] == f"<{unsubscribe}>"
    assert alert["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert alert["Message-ID"].startswith("<") and alert["Content-Language"] == "id"
    assert len(box.to(ADDRESS)) == 3

    # RFC 8058: the mail client POSTs "List-Unsubscribe=One-Click" to the header's URI.
    one_click = client.post(
        unsubscribe.removeprefix(PUBLIC_URL),
        content=b"List-Unsubscribe=One-Click",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert one_click.status_code == 200 and "sudah berhenti" in one_click.text
    assert subscription_rows(app) == [] and delivery_rows(app) == []  # address deleted
    app.state.intake.apply(make_scores({"bakso": 0.95}, TICK_MS + 2 * HOUR_MS))
    send.run_once()
    assert len(box.to(ADDRESS)) == 3
    assert client.get(f"/langganan/{token}").status_code == 404


def test_the_list_filters_carry_over_to_the_form(
    mail_api: tuple[Any, TestClient, MailBox],
) -> None:
    _, client, _ = mail_api
    listing = client.get("/", params={"category": "makanan", "region": "ID-JT"})
    assert 'href="/langganan?category=makanan&amp;region=ID-JT"' in listing.text
    form = client.get("/langganan", params={"category": "makanan", "region": "ID-JT"})
    assert 'value="makanan" checked' in form.text and 'value="ID-JT" checked' in form.text
    assert '<details class="regions" open>' in form.text


def test_the_morning_digest_is_one_mail_with_the_days_alerts(
    mail_api: tuple[Any, TestClient, MailBox], make_scores: Callable[..., Any]
) -> None:
    app, client, box = mail_api
    token = subscribe(client, channel="email", email=ADDRESS, digest="1")
    client.post(f"/langganan/{token}/konfirmasi")
    app.state.intake.apply(make_scores({"rendang": 0.95, "kopi": 0.7}, TICK_MS))
    send = dispatcher(app)
    send.run_once()
    assert len(box.to(ADDRESS)) == 2  # confirmation and welcome; the digest waits for 06:00
    [digest] = [d for d in delivery_rows(app) if d.kind == "digest"]
    assert digest.next_attempt_at > digest.created_at
    with app.state.sessionmaker.begin() as session:  # 06:00 WIB has come
        session.get(type(digest), digest.id).next_attempt_at = digest.created_at
    send.run_once()
    mail = box.to(ADDRESS)[-1]
    assert mail["Subject"] == "Pantau pagi ini: 2 produk sedang naik"
    body = mail.get_content()
    assert "Sangat mungkin viral dalam 24 jam. Produk rendang naik" in body
    assert "Produk kopi naik" in body
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_a_link_scanner_fetching_the_unsubscribe_link_unsubscribes_nothing(
    mail_api: tuple[Any, TestClient, MailBox],
) -> None:
    app, client, _ = mail_api
    token = subscribe(client, channel="email", email=ADDRESS)
    page = client.get(f"/langganan/{token}/berhenti")
    assert page.status_code == 200 and "Ya, berhenti" in page.text
    assert len(subscription_rows(app)) == 1


def test_a_refused_mailbox_disables_the_subscription_and_forgets_the_address(
    mail_api: tuple[Any, TestClient, MailBox], make_scores: Callable[..., Any]
) -> None:
    app, client, box = mail_api
    box.refuse[ADDRESS] = "550 5.1.1 No such user"
    token = subscribe(client, channel="email", email=ADDRESS)
    client.post(f"/langganan/{token}/konfirmasi")
    dispatcher(app).run_once()
    [subscription] = subscription_rows(app)
    assert subscription.status == "disabled" and subscription.address is None
    assert "550" in (subscription.disabled_reason or "")
    assert {d.status for d in delivery_rows(app)} == {"disabled"}
    assert "tidak bisa dikirim" in client.get(f"/langganan/{token}").text


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"channel": "email", "email": "bukan-alamat"}, "Alamat email tidak valid."),
        ({"channel": "whatsapp", "phone": "0812 3456 7890"}, "Pilih cara pengiriman."),
        ({"channel": "merpati"}, "Pilih cara pengiriman."),
    ],
)
def test_the_form_says_what_is_wrong_and_keeps_the_choices(
    mail_api: tuple[Any, TestClient, MailBox], form: dict[str, str], error: str
) -> None:
    app, client, _ = mail_api
    response = client.post("/langganan", data={**form, "region": "ID-JT"})
    assert response.status_code == 422
    assert error in response.text
    assert 'value="ID-JT" checked' in response.text
    assert subscription_rows(app) == []


def test_sign_ups_are_limited_per_client_address(
    mail_api: tuple[Any, TestClient, MailBox],
) -> None:
    """Each sign-up sends a confirmation mail, so one address cannot sign up without end
    (the page must not be a way to mail anyone): past the burst, 429 and nothing sent."""
    app, client, box = mail_api
    burst = app.state.settings.subscribe_burst
    for i in range(burst):
        subscribe(client, channel="email", email=f"penjual{i}@warung.example")
    refused = client.post("/langganan", data={"channel": "email", "email": "korban@warung.example"})
    assert refused.status_code == 429
    assert "Terlalu banyak pendaftaran" in refused.text
    assert int(refused.headers["Retry-After"]) >= 1
    assert len(subscription_rows(app)) == burst
    dispatcher(app).run_once()
    assert box.to("korban@warung.example") == []
