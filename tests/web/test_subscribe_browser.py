"""Subscribing from the phone page in real headless Chromium, without JavaScript:
list → form → Telegram deep link → linked → an alert in the chat → its manage link →
unsubscribed → nothing more. Screenshots at 390×844 go to test-artifacts/."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from _providers import FakeTelegram
from pydantic import SecretStr
from seller_data import NOW_MS, PRODUCTS, STEP_MS, Product, week_of_scores

from services.api.app import create_app
from services.api.channels.service import ChannelSettings
from services.api.webhooks.dispatcher import Dispatcher
from shared.alerts import AlertRules
from shared.settings import ApiSettings, SellerAlertSettings, TelegramSettings, WebhookSettings

pytest.importorskip("playwright.sync_api")

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PHONE = {"width": 390, "height": 844}
BOT_TOKEN = "987654:browser-test-token"
CHAT = 4242
HOUR_MS = 3_600_000
TARGETS_JS = """
() => [...document.querySelectorAll('a[href], button, summary, label.check')]
  .filter(e => !e.classList.contains('skip') && e.getClientRects().length)
  .map(e => { const r = e.getBoundingClientRect();
              return {text: (e.innerText || e.tagName).slice(0, 30), w: r.width, h: r.height}; })
"""


def shoot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")


@pytest.fixture
def site(serve: Any, tmp_path: Path) -> Iterator[tuple[Any, str, FakeTelegram]]:
    fake = FakeTelegram(BOT_TOKEN, username="pantau_bot")
    with fake.running() as telegram_url:
        port = _free_port()
        public = f"http://127.0.0.1:{port}"
        channels = ChannelSettings(
            seller=SellerAlertSettings(
                public_url=public, quiet_start_hour_wib=0, quiet_end_hour_wib=0
            ),
            telegram=TelegramSettings(
                bot_token=SecretStr(BOT_TOKEN),
                bot_username="pantau_bot",
                api_url=telegram_url,
                poll_timeout_s=0,
                request_timeout_s=0.9,
            ),
        )
        app = create_app(
            ApiSettings(
                database_url=f"sqlite:///{tmp_path / 'api.db'}",
                require_api_keys=False,
                run_dispatcher=False,
                trend_max_age_ms=HOUR_MS,
            ),
            webhooks=WebhookSettings(retry_schedule="0s,0.1s", lease_s=3.0, request_timeout_s=0.5),
            channels=channels,
        )
        app.state.intake.apply(week_of_scores(PRODUCTS).sort("tick_ms"))
        with serve(app, port) as server:
            yield app, server.url, fake


def fire_again(app: Any, product: Product, times: int) -> None:
    """Scores that alert `product` again, the `times`-th time: a dip below the re-arm
    level, then a rise past the threshold once the confident tier's cool-down is over."""
    last = week_of_scores([product]).filter(pl.col("tick_ms") == NOW_MS)
    at_ms = NOW_MS + times * (AlertRules().confident_cooldown + STEP_MS)
    app.state.intake.apply(
        last.with_columns(tick_ms=pl.lit(at_ms - STEP_MS), probability=pl.lit(0.2))
    )
    app.state.intake.apply(last.with_columns(tick_ms=pl.lit(at_ms), probability=pl.lit(0.95)))


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_subscribe_on_a_phone_get_the_next_alert_and_stop_by_its_link(
    browser: Any, site: tuple[Any, str, FakeTelegram]
) -> None:
    app, url, fake = site
    send = Dispatcher(app.state.sessionmaker, WebhookSettings(), lane=app.state.channels.lane)
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    started = time.monotonic()
    page.goto(url + "/")
    page.get_by_role("link", name="Dapat kabar lewat WhatsApp, Telegram atau email").click()
    page.wait_for_url("**/langganan")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.get_by_label("Minuman").check()
    page.get_by_label("Telegram").check()
    shoot(page, "subscribe-form-390x844")
    small = [t for t in page.evaluate(TARGETS_JS) if min(t["w"], t["h"]) < 44]
    assert not small, small
    page.get_by_role("button", name="Langganan").click()
    page.wait_for_url(re.compile(r".*/langganan/[A-Za-z0-9_-]{32}$"))
    assert page.get_by_role("status").inner_text().startswith("Satu langkah lagi")
    shoot(page, "subscribe-telegram-step-390x844")

    # Opening the deep link makes Telegram send /start <token> from the seller's chat.
    link = page.get_by_role("link", name="Buka Telegram").get_attribute("href") or ""
    token = link.rpartition("start=")[2]
    assert link == f"https://t.me/pantau_bot?start={token}"
    fake.user_sends(CHAT, f"/start {token}")
    app.state.channels.reader.poll_once()
    page.reload()
    assert page.get_by_role("status").inner_text() == "Aktif: kabar dikirim lewat Telegram."
    elapsed_s = time.monotonic() - started
    print(f"subscribe flow in the browser: {elapsed_s:.1f} s")
    shoot(page, "subscribe-active-390x844")
    send.run_once()
    assert "Langganan aktif" in fake.received(CHAT)[0]

    # The next alert in the seller's category reaches the chat, with the manage link.
    kopi = next(p for p in PRODUCTS if p.category == "minuman")
    fire_again(app, kopi, times=1)
    send.run_once()
    messages = fake.received(CHAT)
    alerts = [m for m in messages[1:] if kopi.name in m]
    assert len(alerts) == 1, messages
    manage = re.search(r"Ubah atau berhenti: (\S+)", alerts[0])
    assert manage is not None and manage.group(1) == f"{url}/langganan/{token}"

    page.goto(manage.group(1))
    page.get_by_role("link", name="Berhenti langganan").click()
    page.get_by_role("button", name="Ya, berhenti").click()
    assert "Anda sudah berhenti" in page.get_by_role("status").inner_text()
    shoot(page, "subscribe-stopped-390x844")
    count = len(fake.received(CHAT))
    fire_again(app, kopi, times=2)
    send.run_once()
    assert len(fake.received(CHAT)) == count
    send.stop()
    context.close()
