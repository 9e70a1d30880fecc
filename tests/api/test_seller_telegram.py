"""Telegram alerts against a local server that answers like the Bot API: linking a chat
by the deep link, alerts, /stop, flood control (429 retry_after), 5xx, a bad bot token, a
blocked bot, and a dispatcher that died holding leases."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from _providers import FakeTelegram
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

from services.api.channels.service import ChannelSettings
from services.api.db import utcnow
from shared.settings import TelegramSettings

TICK_MS = 1_772_409_600_000
HOUR_MS = 3_600_000
TOKEN = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"
CHAT = 777_000_111


@pytest.fixture
def telegram() -> Iterator[tuple[FakeTelegram, str]]:
    fake = FakeTelegram(TOKEN)
    with fake.running() as url:
        yield fake, url


def telegram_app(database_url: str, api_url: str, token: str = TOKEN) -> Any:
    settings = TelegramSettings(
        bot_token=SecretStr(token),
        bot_username="pantau_test_bot",
        api_url=api_url,
        poll_timeout_s=0,
        request_timeout_s=0.9,
    )
    return make_app(database_url, ChannelSettings(seller=ALWAYS, telegram=settings))


@pytest.fixture
def linked(
    database_url: str, telegram: tuple[FakeTelegram, str]
) -> Iterator[tuple[Any, TestClient, FakeTelegram, str]]:
    """An API whose one Telegram subscriber has linked their chat and got the welcome."""
    fake, url = telegram
    app = telegram_app(database_url, url)
    with TestClient(app) as client:
        token = subscribe(client, channel="telegram", category="makanan", level="naik")
        fake.user_sends(CHAT, f"/start {token}")
        assert app.state.channels.reader.poll_once() == 1
        dispatcher(app).run_once()
        yield app, client, fake, token


def test_deep_link_links_the_chat_and_stop_ends_it(
    database_url: str, telegram: tuple[FakeTelegram, str], make_scores: Callable[..., Any]
) -> None:
    fake, url = telegram
    app = telegram_app(database_url, url)
    with TestClient(app) as client:
        token = subscribe(client, channel="telegram", category="makanan", level="viral")
        page = client.get(f"/langganan/{token}").text
        assert f'href="https://t.me/pantau_test_bot?start={token}"' in page
        reader = app.state.channels.reader
        send = dispatcher(app)
        # Before the chat is linked nothing can be sent.
        app.state.intake.apply(make_scores({"kopi": 0.95}, TICK_MS))
        send.run_once()
        assert fake.sends() == 0

        fake.user_sends(CHAT, f"/start {token}")
        fake.user_sends(CHAT + 1, "/start not-a-token")  # someone guessing: nothing happens
        assert reader.poll_once() == 2
        assert reader.poll_once() == 0  # confirmed by the offset: not handed out again
        [subscription] = subscription_rows(app)
        assert subscription.status == "active" and subscription.address == str(CHAT)
        assert "Aktif" in client.get(f"/langganan/{token}").text
        send.run_once()
        [welcome] = fake.received(CHAT)
        assert "Langganan aktif" in welcome and f"{PUBLIC_URL}/langganan/{token}" in welcome

        app.state.intake.apply(make_scores({"rendang": 0.95}, TICK_MS + HOUR_MS))
        # A heads-up (72 h) alert: not for a seller who chose 'sangat mungkin viral' only.
        app.state.intake.apply(make_scores({"teh": 0.2}, TICK_MS + HOUR_MS, probability_72h=0.6))
        send.run_once()
        alert = fake.received(CHAT)[1]
        assert alert.startswith(
            "Sangat mungkin viral dalam 24 jam. Produk rendang naik di Jawa Tengah."
        )
        assert "Peluang viral 95% dalam 24 jam." in alert
        assert f"{PUBLIC_URL}/produk/rendang" in alert
        assert f"Ubah atau berhenti: {PUBLIC_URL}/langganan/{token}" in alert
        assert len(fake.received(CHAT)) == 2

        fake.user_sends(CHAT, "/stop")
        reader.poll_once()
        assert subscription_rows(app) == [] and delivery_rows(app) == []
        app.state.intake.apply(make_scores({"bakso": 0.95}, TICK_MS + 2 * HOUR_MS))
        send.run_once()
        assert len(fake.received(CHAT)) == 2


def test_flood_control_waits_retry_after_and_pauses_the_bot(
    linked: tuple[Any, TestClient, FakeTelegram, str], make_scores: Callable[..., Any]
) -> None:
    app, _, fake, _ = linked
    fake.fail_next(
        (
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 1",
                "parameters": {"retry_after": 1},
            },
        )
    )
    app.state.intake.apply(make_scores({"a": 0.95, "b": 0.95}, TICK_MS))
    send = dispatcher(app)
    before = fake.sends()
    started = time.monotonic()
    send.run_once()
    sends_in_first_round = fake.sends() - before
    # The 429 pauses the whole bot: nothing more is sent until retry_after has passed.
    send.run_once()
    assert fake.sends() - before == sends_in_first_round
    while len(fake.received(CHAT)) < 3 and time.monotonic() - started < 10:
        send.run_once()
        time.sleep(0.05)
    assert time.monotonic() - started >= 1.0
    assert len(fake.received(CHAT)) == 3  # welcome + both alerts, each once
    # Flood control is no failed attempt: each alert went through on its first counted one.
    assert [(d.status, d.attempts) for d in delivery_rows(app)[1:]] == [("delivered", 1)] * 2


def test_server_errors_are_retried_on_the_schedule(
    linked: tuple[Any, TestClient, FakeTelegram, str], make_scores: Callable[..., Any]
) -> None:
    app, _, fake, _ = linked
    bad_gateway = (502, {"ok": False, "error_code": 502, "description": "Bad Gateway"})
    fake.fail_next(bad_gateway, bad_gateway)
    app.state.intake.apply(make_scores({"a": 0.95}, TICK_MS))
    send = dispatcher(app)
    deadline = time.monotonic() + 10
    while len(fake.received(CHAT)) < 2 and time.monotonic() < deadline:
        send.run_once()
        time.sleep(0.05)
    alert = delivery_rows(app)[-1]
    assert alert.status == "delivered" and alert.attempts == 3
    assert len(fake.received(CHAT)) == 2


def test_a_blocked_bot_disables_the_subscription_and_forgets_the_chat(
    linked: tuple[Any, TestClient, FakeTelegram, str], make_scores: Callable[..., Any]
) -> None:
    app, client, fake, token = linked
    fake.chats[CHAT].blocked = True
    app.state.intake.apply(make_scores({"a": 0.95, "b": 0.95}, TICK_MS))
    dispatcher(app).run_once()
    [subscription] = subscription_rows(app)
    assert subscription.status == "disabled" and subscription.address is None
    assert "blocked" in (subscription.disabled_reason or "")
    assert {d.status for d in delivery_rows(app)[1:]} == {"disabled"}
    assert "tidak bisa dikirim" in client.get(f"/langganan/{token}").text
    # Unblocking and opening the link again brings the subscription back.
    fake.chats[CHAT].blocked = False
    fake.user_sends(CHAT, f"/start {token}")
    app.state.channels.reader.poll_once()
    assert subscription_rows(app)[0].status == "active"


def test_an_invalid_bot_token_keeps_deliveries_and_subscribers(
    database_url: str, telegram: tuple[FakeTelegram, str], make_scores: Callable[..., Any]
) -> None:
    """A refused bot token is the operator's fault: the deliveries wait, nobody is dropped."""
    fake, url = telegram
    app = telegram_app(database_url, url)
    with TestClient(app) as client:
        token = subscribe(client, channel="telegram")
        fake.user_sends(CHAT, f"/start {token}")
        app.state.channels.reader.poll_once()
    wrong = telegram_app(database_url, url, token="123456:revoked")
    with TestClient(wrong):
        dispatcher(wrong).run_once()
        [welcome] = delivery_rows(wrong)
        assert welcome.status == "pending" and "401" in (welcome.last_error or "")
        assert subscription_rows(wrong)[0].status == "active"
        assert fake.received(CHAT) == []


def test_leases_of_a_dead_dispatcher_are_taken_over_and_nothing_is_sent_twice(
    linked: tuple[Any, TestClient, FakeTelegram, str], make_scores: Callable[..., Any]
) -> None:
    """A dispatcher that claimed rows and died leaves leases; once they run out, two live
    dispatchers racing over the outbox send every alert to the chat exactly once."""
    app, _, fake, _ = linked
    scores = {f"p{i}": 0.95 for i in range(12)}
    app.state.intake.apply(make_scores(scores, TICK_MS))
    dead = app.state.channels.lane
    claimed = dead.claim(5, lambda _endpoint: 5)
    assert len(claimed) == 5  # leased, never sent: the process is gone
    first, second = dispatcher(app), dispatcher(app)
    deadline = utcnow() + timedelta(seconds=10)
    while len(fake.received(CHAT)) < 13 and utcnow() < deadline:
        rounds = [threading.Thread(target=d.run_once) for d in (first, second)]
        for thread in rounds:
            thread.start()
        for thread in rounds:
            thread.join()
        time.sleep(0.05)
    texts = fake.received(CHAT)[1:]
    assert len(texts) == 12 and len(set(texts)) == 12
    assert {d.status for d in delivery_rows(app)} == {"delivered"}


def test_the_bot_keeps_its_send_rate(
    database_url: str, telegram: tuple[FakeTelegram, str], make_scores: Callable[..., Any]
) -> None:
    fake, url = telegram
    settings = TelegramSettings(
        bot_token=SecretStr(TOKEN),
        api_url=url,
        poll_timeout_s=0,
        request_timeout_s=0.9,
        rate_per_s=4.0,
    )
    app = make_app(database_url, ChannelSettings(seller=ALWAYS, telegram=settings))
    with TestClient(app) as client:
        token = subscribe(client, channel="telegram")
        fake.user_sends(CHAT, f"/start {token}")
        app.state.channels.reader.poll_once()
        app.state.intake.apply(make_scores({f"p{i}": 0.95 for i in range(11)}, TICK_MS))
        send = dispatcher(app)
        started = time.monotonic()
        while len(fake.received(CHAT)) < 12 and time.monotonic() - started < 20:
            send.run_once()
            time.sleep(0.02)
        # 12 messages at 4/s with a burst of 4: the last 8 need at least 2 s.
        assert len(fake.received(CHAT)) == 12
        assert time.monotonic() - started >= 1.9
