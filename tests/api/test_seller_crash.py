"""A dispatcher process killed (SIGKILL) in the middle of sending seller alerts: a second
dispatcher takes its leases over, every alert reaches the chat, and the only messages
that can arrive twice are the ones the provider had accepted when the process died
(sent, answer not yet recorded): the Bot API has no idempotency key to stop those."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _providers import FakeTelegram
from fastapi.testclient import TestClient
from pydantic import SecretStr
from seller_channels import ALWAYS, delivery_rows, dispatcher, make_app, subscribe

from services.api.channels.service import ChannelSettings
from shared.settings import TelegramSettings

REPO = Path(__file__).resolve().parents[2]
TICK_MS = 1_772_409_600_000
TOKEN = "555555:crash-test-token-abcdefghijklmnopqrstuvwxyz"
CHAT = 31337
ALERTS = 12
RECORDED_BEFORE_CRASH = 5

CHILD = """
import sys, time
from pydantic import SecretStr
from services.api.channels.service import ChannelSettings, SellerChannels
from services.api.db import make_engine, make_sessionmaker
from services.api.webhooks.dispatcher import Dispatcher
from shared.settings import WebhookSettings
from shared.settings import SellerAlertSettings, TelegramSettings

url, api_url, token = sys.argv[1:4]
sessions = make_sessionmaker(make_engine(url))
webhooks = WebhookSettings(
    lease_s=3.0, request_timeout_s=0.5, poll_interval_s=0.02, retry_schedule="0s,0.1s",
    jitter_ratio=0.0,
)
channels = ChannelSettings(
    seller=SellerAlertSettings(
        public_url="http://pantau.test", quiet_start_hour_wib=0, quiet_end_hour_wib=0,
        daily_cap=100,
    ),
    telegram=TelegramSettings(
        bot_token=SecretStr(token), api_url=api_url, poll_updates=False, request_timeout_s=0.9
    ),
)
Dispatcher(sessions, webhooks, lane=SellerChannels(channels, sessions, webhooks).lane).start()
print("started", flush=True)
time.sleep(600)
"""


def test_a_dispatcher_killed_mid_delivery_loses_nothing(
    database_url: str, make_scores: Callable[..., Any]
) -> None:
    fake = FakeTelegram(TOKEN)
    with fake.running() as api_url:
        settings = TelegramSettings(
            bot_token=SecretStr(TOKEN), api_url=api_url, poll_timeout_s=0, request_timeout_s=0.9
        )
        app = make_app(database_url, ChannelSettings(seller=ALWAYS, telegram=settings))
        with TestClient(app) as client:
            token = subscribe(client, channel="telegram")
            fake.user_sends(CHAT, f"/start {token}")
            app.state.channels.reader.poll_once()
            dispatcher(app).run_once()  # the welcome
            app.state.intake.apply(make_scores({f"p{i:02d}": 0.95 for i in range(ALERTS)}, TICK_MS))
            fake.hold_after = 1 + RECORDED_BEFORE_CRASH
            child = subprocess.Popen(
                [sys.executable, "-c", CHILD, database_url, api_url, TOKEN],
                cwd=REPO,
                env={**os.environ, "PYTHONPATH": str(REPO)},
                stdout=subprocess.PIPE,
                text=True,
            )
            try:
                assert child.stdout is not None and child.stdout.readline() == "started\n"
                deadline = time.monotonic() + 20
                while not fake.held and time.monotonic() < deadline:
                    time.sleep(0.02)
                time.sleep(0.3)  # let the child's other workers reach the held answer too
                assert fake.held, "the child never sent"
            finally:
                child.send_signal(signal.SIGKILL)
                child.wait(10)
            in_flight = set(fake.held)
            fake.hold_after = None
            fake.release.set()

            send = dispatcher(app)
            deadline = time.monotonic() + 20
            while any(d.status == "pending" for d in delivery_rows(app)):
                assert time.monotonic() < deadline, [d.status for d in delivery_rows(app)]
                send.run_once()
                time.sleep(0.1)

        received = Counter(fake.received(CHAT)[1:])
        print(
            f"in flight at the kill: {len(in_flight)}, repeated: {sum(received.values()) - ALERTS}"
        )
        assert len(received) == ALERTS  # every alert arrived
        repeated = {text for text, n in received.items() if n > 1}
        assert repeated <= in_flight  # only what the provider took as the process died
        assert all(n <= 2 for n in received.values())
        assert {d.status for d in delivery_rows(app)} == {"delivered"}
