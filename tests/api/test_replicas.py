"""Two `pantau api` processes on one PostgreSQL, the real broker and a real receiver.

Score intake splits the topic's partitions by consumer group (each alert raised by one
replica, once); both dispatchers deliver and each webhook arrives once while both run;
a replica killed with SIGKILL mid-delivery loses nothing (its partitions and leased rows
go to the other), and only a send in flight at the kill may arrive twice; a key revoked
in the store is refused by every replica within the key cache's TTL."""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from kafka import KafkaAdminClient
from sqlalchemy import func, select

from bench.processes import ServiceProcesses, free_port, service_env, wait_for
from services.api.auth import KEY_CACHE_TTL_S, create_key, find_key, revoke_key
from services.api.db import make_engine, make_sessionmaker
from services.api.webhooks.models import Delivery, DeliveryStatus, Subscription
from services.api.webhooks.signing import generate_secret
from shared.kafka import ensure_topics, frame_to_values, make_producer
from shared.settings import KafkaSettings

pytestmark = [
    pytest.mark.kafka,
    pytest.mark.slow,
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
]
TICK_MS = 1_772_409_600_000
PER_ENDPOINT = 4  # each replica's in-flight limit per endpoint (and its workers)
WEBHOOKS = {
    "PANTAU_WEBHOOK_ALLOW_CIDRS": "127.0.0.0/8",
    "PANTAU_WEBHOOK_RETRY_SCHEDULE": "0s,0.2s,0.5s,1s,1s,1s,1s,1s,1s,1s",
    "PANTAU_WEBHOOK_REQUEST_TIMEOUT_S": "2",
    "PANTAU_WEBHOOK_LEASE_S": "6.5",
    "PANTAU_WEBHOOK_POLL_INTERVAL_S": "0.1",
    "PANTAU_WEBHOOK_WORKERS": str(PER_ENDPOINT),
    "PANTAU_WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT": str(PER_ENDPOINT),
}


class Counting:
    """A receiver's answers: 200 after a short pause, or, while `hold` is set, only once
    released; counts the 200s per webhook-id and knows which requests are waiting."""

    def __init__(self) -> None:
        self.hold = threading.Event()
        self.release = threading.Event()
        self.waiting: set[str] = set()
        self.answered: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __call__(self, request: Any) -> int:
        msg_id = request.headers["webhook-id"]
        if self.hold.is_set():
            with self._lock:
                self.waiting.add(msg_id)
            self.release.wait(10)
            with self._lock:
                self.waiting.discard(msg_id)
        else:
            time.sleep(0.02)  # long enough for both dispatchers to have sends under way
        with self._lock:
            self.answered[msg_id] += 1
        return 200


def produce(kafka: KafkaSettings, make_scores: Any, products: list[str], tick_ms: int) -> None:
    """One score row per product, spread over every partition."""
    producer = make_producer(kafka)
    for i, product in enumerate(products):
        partition = i % kafka.partitions
        frame = make_scores({product: 0.9}, tick_ms, partition=partition)
        for value in frame_to_values(frame):
            producer.send(kafka.scores_topic, value=value, partition=partition)
    producer.flush()
    producer.close()


def fired(replicas: ServiceProcesses, name: str) -> list[str]:
    """Products whose alert `name` raised, from its JSON log."""
    lines = replicas.log(name).splitlines()
    entries = [orjson.loads(line) for line in lines if line.startswith("{")]
    return [e["product_id"] for e in entries if e.get("msg") == "alert fired"]


def members_assigned(kafka: KafkaSettings, group: str) -> int:
    """Members of `group` holding at least one partition."""
    admin = KafkaAdminClient(bootstrap_servers=kafka.bootstrap)
    try:
        [described] = admin.describe_consumer_groups([group])
        # Decoded once the group is stable; raw bytes (b"") while it rebalances: not yet.
        return sum(
            1
            for m in described.members
            if not isinstance(m.member_assignment, bytes) and m.member_assignment.assignment
        )
    finally:
        admin.close()


@pytest.fixture
def replicas(tmp_path: Path, database_url: str, kafka_settings: KafkaSettings) -> Iterator[Any]:
    ensure_topics(kafka_settings)
    env = service_env(
        kafka_settings,
        tmp_path,
        PANTAU_DATABASE_URL=database_url,
        PANTAU_API_REQUIRE_API_KEYS="true",
        **WEBHOOKS,
    )
    procs = {
        name: ServiceProcesses(env | {"PANTAU_API_PORT": str(free_port())}, tmp_path)
        for name in ("a", "b")
    }
    yield procs, env["PANTAU_API_GROUP"]
    for proc in procs.values():
        proc.stop()


def test_two_replicas_apply_each_score_once_deliver_once_and_survive_a_kill(
    replicas: Any,
    database_url: str,
    kafka_settings: KafkaSettings,
    make_receiver: Any,
    make_scores: Any,
) -> None:
    procs, group = replicas
    sessions = make_sessionmaker(make_engine(database_url))
    answers = Counting()
    receiver = make_receiver(respond=answers)
    with sessions.begin() as session:
        session.add(Subscription(url=receiver.url, secret=generate_secret()))
        key = create_key(session, "ops", "admin")
    auth = {"Authorization": f"Bearer {key}"}
    urls = {}
    for name, proc in procs.items():
        proc.start(name, [sys.executable, "-m", "services.cli", "api"])
        urls[name] = f"http://127.0.0.1:{proc.env['PANTAU_API_PORT']}"

    def alive() -> None:
        for proc in procs.values():
            proc.check_alive()

    for url in urls.values():
        wait_for(
            lambda u=url: httpx.get(f"{u}/readyz").status_code == 200, "ready", 90, alive=alive
        )
    wait_for(lambda: members_assigned(kafka_settings, group) == 2, "both replicas assigned", 60)

    # Both running: each score applied by one replica, each webhook delivered once.
    first = [f"a{i}" for i in range(40)]
    produce(kafka_settings, make_scores, first, TICK_MS)

    def delivered() -> int:
        with sessions() as session:
            return (
                session.scalar(
                    select(func.count())
                    .select_from(Delivery)
                    .where(Delivery.status == DeliveryStatus.DELIVERED.value)
                )
                or 0
            )

    wait_for(lambda: delivered() == len(first), "first deliveries", 60, alive=alive)
    by_a, by_b = fired(procs["a"], "a"), fired(procs["b"], "b")
    assert by_a and by_b, "the group gives each replica partitions"
    assert sorted(by_a + by_b) == sorted(first)  # each alert raised once, by one replica
    assert set(answers.answered) == set(_msg_ids(sessions))
    assert set(answers.answered.values()) == {1}  # none twice while both run
    attempts = {n: procs[n].log(n).count('"msg":"webhook.attempt"') for n in procs}
    assert all(attempts.values()), attempts  # both dispatchers delivered
    for url in urls.values():
        feed = httpx.get(f"{url}/v1/alerts?limit=100", headers=auth, timeout=30).json()
        assert sorted(a["product_id"] for a in feed["items"]) == sorted(first)

    # A key revoked in the store (as `pantau keys revoke` does) is refused everywhere
    # within the key cache's TTL, though both replicas have it cached.
    with sessions.begin() as session:
        revoke_key(session, find_key(session, "ops").id)
    revoked_at = time.monotonic()
    for url in urls.values():
        wait_for(
            lambda u=url: httpx.get(f"{u}/v1/alerts", headers=auth).status_code == 401,
            "the revoked key refused",
            KEY_CACHE_TTL_S + 5,
            interval_s=0.1,
        )
    assert time.monotonic() - revoked_at <= KEY_CACHE_TTL_S + 1.0

    # Both dispatchers with their endpoint's full share in flight, then one is killed.
    answers.hold.set()
    second = [f"b{i}" for i in range(24)]
    produce(kafka_settings, make_scores, second, TICK_MS + 300_000)
    wait_for(lambda: len(answers.waiting) == 2 * PER_ENDPOINT, "sends in flight", 60, 0.02)
    procs["a"].kill("a")
    in_flight = set(answers.waiting)
    answers.hold.clear()
    answers.release.set()
    # Scores that reach the dead replica's partitions wait for the group to hand them over.
    third = [f"c{i}" for i in range(8)]
    produce(kafka_settings, make_scores, third, TICK_MS + 600_000)
    everything = first + second + third
    wait_for(
        lambda: delivered() == len(everything), "every delivery", 90, alive=procs["b"].check_alive
    )
    with sessions() as session:
        alerted = session.scalars(select(Delivery.payload)).all()
    assert sorted(orjson.loads(p)["data"]["product_id"] for p in alerted) == sorted(everything)
    twice = {msg_id for msg_id, n in answers.answered.items() if n > 1}
    assert set(answers.answered) == set(_msg_ids(sessions))  # none lost
    assert twice <= in_flight and len(twice) <= PER_ENDPOINT, (twice, in_flight)
    assert max(answers.answered.values()) <= 2
    sessions.kw["bind"].dispose()


def _msg_ids(sessions: Any) -> list[str]:
    with sessions() as session:
        return list(session.scalars(select(Delivery.msg_id)))
