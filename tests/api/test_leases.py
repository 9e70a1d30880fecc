"""The outbox claim (`services.api.webhooks.leases`) used by webhook and seller deliveries:
rows another replica's claim holds are skipped, not waited for (PostgreSQL's row locks);
on both stores a row is won by one claim only and expired leases are taken again."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from services.api.channels.base import Message, SendResult
from services.api.channels.lane import ChannelLane
from services.api.channels.models import ChannelDelivery, SellerSubscription
from services.api.db import utcnow
from services.api.webhooks import leases
from services.api.webhooks.dispatcher import Dispatcher
from services.api.webhooks.models import Delivery, Subscription
from shared.settings import SellerAlertSettings, WebhookSettings

SETTINGS = WebhookSettings(
    allow_cidrs="127.0.0.0/8", lease_s=30.0, request_timeout_s=5.0, workers=8
)


def webhook_rows(sessions: sessionmaker[Session], n: int) -> list[int]:
    with sessions.begin() as session:
        subscription = Subscription(url="http://127.0.0.1:9/hook", secret="s")
        session.add(subscription)
        session.flush()
        rows = [
            Delivery(subscription_id=subscription.id, msg_id=f"m{i}", event_type="e", payload="{}")
            for i in range(n)
        ]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


def channel_rows(sessions: sessionmaker[Session], n: int) -> list[int]:
    """One delivery to each of `n` chats (a chat gets one message at a time)."""
    with sessions.begin() as session:
        chats = [
            SellerSubscription(token=f"t{i}", channel="telegram", address=str(i)) for i in range(n)
        ]
        session.add_all(chats)
        session.flush()
        rows = [
            ChannelDelivery(
                subscription_id=chat.id,
                channel="telegram",
                kind="alert",
                key=f"k{i}",
                payload="[]",
            )
            for i, chat in enumerate(chats)
        ]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


class Unsent:
    """A channel the claim tests never send through."""

    name = "telegram"

    def send(self, address: str, message: Message) -> SendResult:
        raise AssertionError("a claim test sends nothing")

    def close(self) -> None:
        pass


@contextmanager
def locked(sessions: sessionmaker[Session], model: Any, ids: list[int]) -> Iterator[None]:
    """Another replica's claim in progress: its transaction holds these rows' locks."""
    with sessions() as session, session.begin():
        session.execute(select(model.id).where(model.id.in_(ids)).with_for_update())
        yield


def within(seconds: float, call: Callable[[], Any]) -> Any:
    """`call()`'s result, or an assertion error if it has not returned within `seconds`."""
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(call()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert result, f"still waiting after {seconds} s (blocked on another claim's row locks)"
    return result[0]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_webhook_claim_skips_rows_another_claim_holds(sessions: Any) -> None:
    ids = webhook_rows(sessions, 6)
    dispatcher = Dispatcher(sessions, SETTINGS)
    try:
        with locked(sessions, Delivery, ids[:2]):
            claimed = within(5, dispatcher._claim)
        assert sorted(i for i, _, _ in claimed) == ids[2:6]  # 4: the endpoint's allowance
    finally:
        dispatcher.stop()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_channel_claim_skips_rows_another_claim_holds(sessions: Any) -> None:
    ids = channel_rows(sessions, 6)
    lane = ChannelLane(
        sessions,
        {"telegram": Unsent()},
        {"telegram": 100.0},
        SellerAlertSettings(),
        SETTINGS,
    )
    with locked(sessions, ChannelDelivery, ids[:2]):
        claimed = within(5, lambda: lane.claim(10, lambda _endpoint: 10))
    assert sorted(i for i, _, _ in claimed) == ids[2:]


def test_a_row_is_leased_once_and_taken_again_when_the_lease_runs_out(sessions: Any) -> None:
    ids = webhook_rows(sessions, 3)
    now = utcnow()
    with sessions.begin() as session:
        first, won = leases.take(session, Delivery, ids[:2], now, lease_s=10)
        assert won == ids[:2]
        _, again = leases.take(session, Delivery, ids, now, lease_s=10)
        assert again == ids[2:]  # the first two are held
        due = session.scalars(leases.due(Delivery, now, Delivery.msg_id != "", 10)).all()
        assert due == []
    later = now + timedelta(seconds=11)
    with sessions.begin() as session:
        due = session.scalars(leases.due(Delivery, later, Delivery.msg_id != "", 10)).all()
        assert due == ids
        second, won = leases.take(session, Delivery, ids[:1], later, lease_s=10)
    with sessions() as session:
        tokens = dict(session.execute(text("SELECT id, lease_token FROM webhook_deliveries")).all())
    assert won == ids[:1] and tokens[ids[0]] == second != first and tokens[ids[1]] == first
