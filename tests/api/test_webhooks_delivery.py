"""Dispatcher against real receivers on 127.0.0.1: retries, outages, crashes, disabling."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks.webhooks import Webhook

from services.api.webhooks.dispatcher import Dispatcher
from services.api.webhooks.models import Delivery, Subscription
from services.api.webhooks.outbox import enqueue_alert
from services.api.webhooks.signing import generate_secret
from shared.settings import WebhookSettings

REPO = Path(__file__).resolve().parents[2]
FAST = {
    "allow_cidrs": "127.0.0.0/8",
    "retry_schedule": "0s,0.1s,0.2s,0.3s,0.4s,0.5s,0.5s,0.5s",
    "request_timeout_s": 0.3,
    "lease_s": 1.0,
    "poll_interval_s": 0.02,
    "jitter_ratio": 0.1,
    "breaker_cool_off_s": 0.3,
}


@pytest.fixture
def db_url(database_url: str) -> str:
    return database_url


def alert(i: int, **overrides: Any) -> dict[str, Any]:
    return {
        "id": f"alert-{i}",
        "product_id": f"p{i}",
        "product_name": f"Keripik pedas {i}",
        "category": "makanan",
        "regions": ["ID-JT"],
        "probability": 0.9,
        "score": 2.1,
        "model_version": "m1",
        "reasons": [{"text_id": "penonton naik", "text_en": "views rising"}],
        "message_id": "Produk sedang naik daun",
        "message_en": "Product is rising",
        "ts": "2025-01-01T00:05:00Z",
        "tick_ms": 1735689900000,
        **overrides,
    }


def subscribe(sessions: sessionmaker[Session], url: str, **fields: Any) -> tuple[int, str]:
    with sessions.begin() as session:
        subscription = Subscription(url=url, secret=generate_secret(), **fields)
        session.add(subscription)
        session.flush()
        return subscription.id, subscription.secret


def enqueue(sessions: sessionmaker[Session], n: int) -> None:
    with sessions.begin() as session:
        for i in range(n):
            enqueue_alert(session, alert(i))


def deliveries(sessions: sessionmaker[Session]) -> list[Delivery]:
    with sessions() as session:
        return list(session.scalars(select(Delivery).order_by(Delivery.id)))


def all_delivered(sessions: sessionmaker[Session]) -> bool:
    return all(d.status == "delivered" for d in deliveries(sessions))


def assert_signed(receiver: Any, secret: str) -> None:
    for request in receiver.requests:
        payload = Webhook(secret).verify(request.body, request.headers)
        assert payload["type"] == "trend.alert"


@pytest.fixture
def dispatcher_factory(sessions: sessionmaker[Session]) -> Iterator[Any]:
    made: list[Dispatcher] = []

    def make(**overrides: Any) -> Dispatcher:
        dispatcher = Dispatcher(sessions, WebhookSettings(**{**FAST, **overrides}))
        made.append(dispatcher)
        return dispatcher

    yield make
    for dispatcher in made:
        dispatcher.stop()


def _metric(outcome: str) -> float:
    value = REGISTRY.get_sample_value("pantau_webhook_deliveries_total", {"outcome": outcome})
    return value or 0.0


def test_delivery_is_a_signed_standard_webhook(
    sessions: Any, make_receiver: Any, dispatcher_factory: Any, caplog: pytest.LogCaptureFixture
) -> None:
    receiver = make_receiver()
    _, secret = subscribe(sessions, receiver.url, language="en")
    enqueue(sessions, 1)
    before = _metric("success")
    with caplog.at_level(logging.INFO, logger="services.api.webhooks.dispatcher"):
        assert dispatcher_factory().run_once() == 1
    [request] = receiver.requests
    [delivery] = deliveries(sessions)
    assert delivery.status == "delivered" and delivery.attempts == 1
    assert request.headers["webhook-id"] == delivery.msg_id
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == "Pantau-Webhooks/1.0"
    assert request.body == delivery.payload.encode()
    payload = Webhook(secret).verify(request.body, request.headers)
    assert payload["type"] == "trend.alert" and payload["timestamp"] == "2025-01-01T00:05:00Z"
    assert payload["data"]["message"] == "Product is rising"
    assert payload["data"]["id"] == "alert-0"
    assert _metric("success") == before + 1
    last = caplog.records[-1]
    assert last.getMessage() == "webhook.attempt" and last.outcome == "success"  # type: ignore[attr-defined]
    assert secret not in caplog.text and secret.removeprefix("whsec_") not in caplog.text


def test_receiver_down_then_up_gets_everything(
    sessions: Any, make_receiver: Any, dispatcher_factory: Any, free_port: int, wait_until: Any
) -> None:
    _, secret = subscribe(sessions, f"http://127.0.0.1:{free_port}/hook")
    enqueue(sessions, 20)
    dispatcher = dispatcher_factory()
    dispatcher.start()
    # Failed attempts and retries; then the endpoint's circuit opens and only probes go.
    wait_until(lambda: sum(d.attempts for d in deliveries(sessions)) >= 8)
    assert all(d.status == "pending" for d in deliveries(sessions))
    receiver = make_receiver(port=free_port)
    wait_until(lambda: all_delivered(sessions))
    assert receiver.msg_ids() == {d.msg_id for d in deliveries(sessions)}
    assert_signed(receiver, secret)


def _flaky(timeout_s: float) -> Any:
    """Per message, 0-2 failures (500 or a hang past the sender's timeout), then 200."""
    seen: Counter[str] = Counter()
    lock = threading.Lock()

    def respond(request: Any) -> int:
        msg_id = request.headers["webhook-id"]
        with lock:
            seen[msg_id] += 1
            attempt = seen[msg_id]
        failures = hashlib.sha256(msg_id.encode()).digest()[0] % 3
        if attempt > failures:
            return 200
        if (attempt + failures) % 2:
            time.sleep(timeout_s * 2)
        return 500

    return respond


def test_flaky_receiver_gets_everything_within_the_schedule(
    sessions: Any, make_receiver: Any, dispatcher_factory: Any, wait_until: Any
) -> None:
    receiver = make_receiver(respond=_flaky(FAST["request_timeout_s"]))
    _, secret = subscribe(sessions, receiver.url)
    enqueue(sessions, 30)
    dispatcher_factory().start()
    wait_until(lambda: all_delivered(sessions))
    rows = deliveries(sessions)
    assert receiver.msg_ids() == {d.msg_id for d in rows}
    assert Counter(d.attempts for d in rows).keys() >= {1, 2, 3}
    assert_signed(receiver, secret)


def test_dispatcher_killed_mid_delivery_loses_nothing(
    sessions: Any, db_url: str, make_receiver: Any, dispatcher_factory: Any, wait_until: Any
) -> None:
    release = threading.Event()
    receiver = make_receiver(respond=lambda _r: 200 if release.wait(10) else 500)
    _, secret = subscribe(sessions, receiver.url)
    enqueue(sessions, 10)
    env = {
        **os.environ,
        **{f"PANTAU_WEBHOOK_{k.upper()}": str(v) for k, v in FAST.items()},
        "PANTAU_WEBHOOK_REQUEST_TIMEOUT_S": "0.5",
        "PANTAU_WEBHOOK_LEASE_S": "1.6",
        "PANTAU_WEBHOOK_WORKERS": "4",
    }
    script = (
        "import sys, time\n"
        "from services.api.db import make_engine, make_sessionmaker\n"
        "from services.api.webhooks.dispatcher import Dispatcher\n"
        "from shared.settings import WebhookSettings\n"
        "Dispatcher(make_sessionmaker(make_engine(sys.argv[1])), WebhookSettings()).start()\n"
        "time.sleep(60)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", script, db_url], cwd=REPO, env=env)
    try:
        wait_until(lambda: len(receiver.requests) >= 4, timeout_s=20)
    finally:
        child.kill()
        child.wait()
    in_flight = receiver.msg_ids()
    release.set()
    assert len(in_flight) == 4 and all_delivered(sessions) is False
    dispatcher_factory().start()  # the restart, on the same database file
    wait_until(lambda: all_delivered(sessions))
    received = Counter(r.headers["webhook-id"] for r in receiver.requests)
    assert set(received) == {d.msg_id for d in deliveries(sessions)}
    assert all(received[msg_id] >= 2 for msg_id in in_flight)  # at least once, never lost
    assert_signed(receiver, secret)


def test_two_dispatchers_never_send_the_same_claim_twice(
    sessions: Any, make_receiver: Any, dispatcher_factory: Any, wait_until: Any
) -> None:
    receiver = make_receiver(respond=lambda _r: time.sleep(0.01) or 200)
    subscribe(sessions, receiver.url)
    enqueue(sessions, 40)
    # A timeout and a lease far longer than the run: this is about two dispatchers claiming
    # at once. On a busy machine a request can outlast a 0.3 s timeout, and a timed-out
    # delivery is retried (the receiver then has it twice, by design: at least once).
    patient = {"request_timeout_s": 5.0, "lease_s": 30.0}
    first, second = dispatcher_factory(**patient), dispatcher_factory(**patient)
    first.start()
    second.start()
    wait_until(lambda: all_delivered(sessions))
    received = Counter(r.headers["webhook-id"] for r in receiver.requests)
    assert len(received) == 40 and set(received.values()) == {1}


def test_gone_disables_the_subscription(
    sessions: Any, make_receiver: Any, dispatcher_factory: Any
) -> None:
    gone = make_receiver(respond=lambda _r: 410)
    fine = make_receiver()
    gone_id, _ = subscribe(sessions, gone.url)
    subscribe(sessions, fine.url)
    enqueue(sessions, 3)
    dispatcher = dispatcher_factory(max_in_flight_per_endpoint=1)
    while dispatcher.run_once():
        pass
    assert len(gone.requests) == 1 and len(fine.requests) == 3
    with sessions() as session:
        subscription = session.get_one(Subscription, gone_id)
        assert subscription.disabled_at is not None
        assert subscription.disabled_reason == "endpoint answered 410 Gone"
        statuses = Counter(
            d.status for d in session.scalars(select(Delivery).filter_by(subscription_id=gone_id))
        )
    assert statuses == {"disabled": 3}
    with sessions.begin() as session:
        assert enqueue_alert(session, alert(99)) == 1  # only the healthy subscription
    assert REGISTRY.get_sample_value("pantau_webhook_disabled_subscriptions") == 1


def test_failing_longer_than_the_limit_disables(
    sessions: Any, make_receiver: Any, dispatcher_factory: Any, wait_until: Any
) -> None:
    receiver = make_receiver(respond=lambda _r: 503)
    sub_id, _ = subscribe(sessions, receiver.url)
    enqueue(sessions, 2)
    dispatcher_factory(disable_after_failing_s=0.4).start()

    def disabled() -> bool:
        with sessions() as session:
            return session.get_one(Subscription, sub_id).disabled_at is not None

    wait_until(disabled)
    with sessions() as session:
        reason = session.get_one(Subscription, sub_id).disabled_reason or ""
    assert "every delivery failed since" in reason and "HTTP 503" in reason
    assert {d.status for d in deliveries(sessions)} == {"disabled"}


def test_spent_schedule_marks_the_delivery_failed(
    sessions: Any, make_receiver: Any, dispatcher_factory: Any, wait_until: Any
) -> None:
    receiver = make_receiver(respond=lambda _r: 500)
    subscribe(sessions, receiver.url)
    enqueue(sessions, 1)
    dispatcher_factory(retry_schedule="0s,0.05s,0.05s").start()
    wait_until(lambda: deliveries(sessions)[0].status == "failed")
    [delivery] = deliveries(sessions)
    assert delivery.attempts == 3 and delivery.last_status_code == 500
    assert len(receiver.requests) == 3
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1


def test_in_flight_requests_per_endpoint_are_limited(
    sessions: Any, make_receiver: Any, dispatcher_factory: Any, wait_until: Any
) -> None:
    slow = make_receiver(respond=lambda _r: time.sleep(0.05) or 200)
    subscribe(sessions, slow.url)
    enqueue(sessions, 12)
    dispatcher_factory(max_in_flight_per_endpoint=2, workers=8).start()
    wait_until(lambda: all_delivered(sessions))
    assert slow.max_concurrent == 2


def test_hanging_endpoints_do_not_delay_a_healthy_subscriber(
    sessions: Any,
    make_receiver: Any,
    silent_server: Any,
    dispatcher_factory: Any,
    wait_until: Any,
) -> None:
    received_at: dict[str, float] = {}

    def respond(request: Any) -> int:
        received_at[json.loads(request.body)["data"]["id"]] = time.monotonic()
        return 200

    healthy = make_receiver(respond=respond)
    for _ in range(5):
        subscribe(sessions, silent_server.url)
    subscribe(sessions, healthy.url)
    # Production's worker pool and endpoint limit; a timeout short enough for a test.
    dispatcher_factory(request_timeout_s=2.0, lease_s=7.0, workers=16).start()
    enqueued_at: dict[str, float] = {}
    for i in range(40):
        with sessions.begin() as session:
            enqueue_alert(session, alert(i))
        enqueued_at[f"alert-{i}"] = time.monotonic()
        time.sleep(0.1)
    wait_until(lambda: len(received_at) == 40, timeout_s=30)
    delays = sorted(received_at[a] - enqueued_at[a] for a in enqueued_at)
    p99 = delays[int(0.99 * (len(delays) - 1))]
    assert p99 < 1.0, f"healthy subscriber's p99 delay {p99:.2f} s"
    assert silent_server.accepted >= 1  # the hanging endpoint was tried all along


def test_open_circuit_sends_only_probes_and_keeps_deliveries_pending(
    sessions: Any, make_receiver: Any, dispatcher_factory: Any, wait_until: Any
) -> None:
    failing = make_receiver(respond=lambda _r: 503)
    subscribe(sessions, failing.url)
    enqueue(sessions, 20)
    dispatcher_factory(breaker_failures=3, breaker_cool_off_s=0.5, workers=8).start()
    time.sleep(1.2)  # 3 failures open the circuit; probes at most every 0.5 s after that
    attempts = len(failing.requests)
    assert 3 <= attempts <= 4 + 3  # the first round (endpoint limit 4) and a few probes
    assert failing.max_concurrent <= 4
    assert {d.status for d in deliveries(sessions)} == {"pending"}


def test_a_backlog_behind_one_endpoint_does_not_queue_another(
    sessions: Any, make_receiver: Any, dispatcher_factory: Any, wait_until: Any
) -> None:
    slow = make_receiver(respond=lambda _r: time.sleep(0.2) or 200)
    subscribe(sessions, slow.url)
    enqueue(sessions, 100)  # older than anything the next subscriber gets
    fast = make_receiver()
    subscribe(sessions, fast.url)
    with sessions.begin() as session:
        for i in range(100, 105):
            enqueue_alert(session, alert(i))
    started = time.monotonic()
    dispatcher_factory(workers=16).start()
    wait_until(lambda: len(fast.requests) == 5, timeout_s=30)
    # The slow endpoint holds 4 workers; its backlog takes 100 * 0.2 s / 4 = 5 s.
    assert time.monotonic() - started < 1.5
    assert slow.max_concurrent == 4


# SQLite only: it reads SQLite's query plan, and PostgreSQL plans by table statistics.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_claim_reads_each_subscription_through_its_index(
    sessions: Any, dispatcher_factory: Any
) -> None:
    """Its cost follows the subscriptions and their allowances, not the due backlog."""
    engine = sessions.kw["bind"]
    subscribe(sessions, "http://127.0.0.1:9/hook")
    subscribe(sessions, "http://127.0.0.1:10/hook")
    enqueue(sessions, 30)
    statements: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, sql: str, params: Any, *_args: Any) -> None:
        if sql.lstrip().upper().startswith("SELECT") and "next_attempt_at" in sql:
            statements.append((sql, params))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        assert len(dispatcher_factory()._claim()) == 8  # 4 per endpoint
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    [(sql, params)] = statements
    with engine.connect() as conn:
        plan = " | ".join(
            row[3] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params)
        )
    assert plan.count("USING INDEX ix_webhook_deliveries_subscription_due") == 2, plan
    assert "SCAN webhook_deliveries" not in plan, plan
