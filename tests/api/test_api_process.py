"""`pantau api` as it runs in production (a real process, the real broker, SQLite on disk,
real receivers): killed with SIGKILL while webhooks are in flight, restarted, and
nothing is lost; its logs never show an API key or a webhook secret."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from standardwebhooks import Webhook

from services.api.db import make_engine
from shared.kafka import ensure_topics, frame_to_values, make_producer
from shared.settings import KafkaSettings

pytestmark = [pytest.mark.kafka, pytest.mark.slow]
TICK_MS = 1_772_409_600_000
WEBHOOKS = {
    "PANTAU_WEBHOOK_ALLOW_CIDRS": "127.0.0.0/8",
    "PANTAU_WEBHOOK_RETRY_SCHEDULE": "0s,0.2s,0.5s,1s,1s,1s,1s,1s,1s,1s",
    "PANTAU_WEBHOOK_REQUEST_TIMEOUT_S": "1",
    "PANTAU_WEBHOOK_LEASE_S": "3.5",
    "PANTAU_WEBHOOK_POLL_INTERVAL_S": "0.1",
    "PANTAU_WEBHOOK_WORKERS": "4",
}


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ApiProcess:
    """`python -m services.cli api` with its stderr (the JSON logs) kept in a file."""

    def __init__(self, env: dict[str, str], cwd: Path, log: Path) -> None:
        self.env, self.cwd, self.log = env, cwd, log
        self.url = f"http://127.0.0.1:{env['PANTAU_API_PORT']}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, wait_until: Callable[..., None]) -> ApiProcess:
        with self.log.open("ab") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "services.cli", "api"],
                cwd=self.cwd,
                env=self.env,
                stdout=err,
                stderr=err,
            )

        def up() -> bool:
            assert self.proc is not None and self.proc.poll() is None, self.log.read_text()
            try:
                return httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(up, timeout_s=90)
        return self

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)
        self.proc.wait(timeout=30)


@pytest.fixture
def api_env(database_url: str, kafka_settings: KafkaSettings) -> Iterator[dict[str, str]]:
    ensure_topics(kafka_settings)
    env = {
        **os.environ,
        **WEBHOOKS,
        "PANTAU_DATABASE_URL": database_url,
        "PANTAU_API_PORT": str(free_port()),
        "PANTAU_API_GROUP": f"api-{uuid.uuid4().hex[:8]}",
        "PANTAU_KAFKA_BOOTSTRAP": kafka_settings.bootstrap,
        "PANTAU_KAFKA_SCORES_TOPIC": kafka_settings.scores_topic,
        "PANTAU_KAFKA_EVENTS_TOPIC": kafka_settings.events_topic,
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    yield env


def produce_scores(kafka: KafkaSettings, frame: Any) -> None:
    producer = make_producer(kafka)
    for value in frame_to_values(frame):
        producer.send(kafka.scores_topic, value=value, partition=0)
    producer.flush()
    producer.close()


def test_sigkill_mid_delivery_loses_nothing_and_logs_hold_no_secrets(
    tmp_path: Path,
    database_url: str,
    api_env: dict[str, str],
    kafka_settings: KafkaSettings,
    make_receiver: Any,
    make_scores: Any,
    wait_until: Any,
) -> None:
    release = threading.Event()
    receiver = make_receiver(respond=lambda _r: 200 if release.wait(20) else 500)
    created = subprocess.run(
        [
            sys.executable,
            "-m",
            "services.cli",
            "keys",
            "create",
            "--name",
            "ops",
            "--scope",
            "admin",
        ],
        cwd=tmp_path,
        env=api_env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    key = created.stdout.strip().splitlines()[-1]
    auth = {"Authorization": f"Bearer {key}"}
    log = tmp_path / "api.log"
    api = ApiProcess(api_env, tmp_path, log).start(wait_until)
    try:
        reply = httpx.post(
            f"{api.url}/v1/subscriptions", json={"url": receiver.url}, headers=auth, timeout=30
        )
        assert reply.status_code == 201, reply.text
        secret = reply.json()["secret"]
        before = [f"a{i}" for i in range(6)]
        produce_scores(kafka_settings, make_scores(dict.fromkeys(before, 0.9), TICK_MS))
        wait_until(lambda: len(receiver.requests) >= 4, timeout_s=60)
        api.signal(signal.SIGKILL)  # four deliveries are in flight, unanswered
    finally:
        if api.proc is not None and api.proc.poll() is None:
            api.proc.kill()
    in_flight = receiver.msg_ids()
    # Scores that arrive while the API is down wait in Kafka.
    after = [f"b{i}" for i in range(4)]
    produce_scores(kafka_settings, make_scores(dict.fromkeys(after, 0.95), TICK_MS + 300_000))
    release.set()

    api = ApiProcess(api_env, tmp_path, log).start(wait_until)
    try:
        delivered: dict[str, set[str]] = {}

        def everything_delivered() -> bool:
            for request in list(receiver.requests):
                if request.headers["webhook-id"] in delivered.get("seen", set()):
                    continue
                payload = Webhook(secret).verify(request.body, request.headers)
                delivered.setdefault("seen", set()).add(request.headers["webhook-id"])
                delivered.setdefault("products", set()).add(payload["data"]["product_id"])
            return delivered.get("products", set()) == set(before + after)

        wait_until(everything_delivered, timeout_s=90)
        feed = httpx.get(f"{api.url}/v1/alerts", headers=auth, timeout=30).json()
        assert sorted(a["product_id"] for a in feed["items"]) == sorted(before + after)
        sent = Counter(r.headers["webhook-id"] for r in receiver.requests)
        assert len(in_flight) >= 4 and all(sent[m] >= 2 for m in in_flight)  # sent again
        api.signal(signal.SIGTERM)
    finally:
        if api.proc is not None and api.proc.poll() is None:
            api.proc.kill()
    engine = make_engine(database_url)
    with engine.connect() as db:
        statuses = [
            tuple(row)
            for row in db.execute(
                text("SELECT status, count(*) FROM webhook_deliveries GROUP BY 1")
            )
        ]
    engine.dispose()
    assert statuses == [("delivered", len(before + after))]
    logs = log.read_text()
    assert '"webhook.attempt"' in logs or "webhook.attempt" in logs
    for leaked in (key, key.removeprefix("pk_"), secret, secret.removeprefix("whsec_")):
        assert leaked not in logs
