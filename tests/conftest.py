"""Fixtures shared by every test layer: the real broker, isolated topics, a running API."""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer

from bench.processes import free_port
from shared.settings import KafkaSettings

REPO = Path(__file__).resolve().parents[1]

# The tests' own clients, made with kafka-python directly, are as patient with the
# broker's version probe as the services' (`shared.kafka.client_options`), not 2 s.
_PROBE_MS = KafkaSettings.model_fields["api_version_timeout_ms"].default
for _client in (KafkaConsumer, KafkaProducer, KafkaAdminClient):
    _client.DEFAULT_CONFIG["api_version_auto_timeout_ms"] = _PROBE_MS


def _broker_up(bootstrap: str) -> bool:
    host, port = bootstrap.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def bootstrap() -> str:
    """The broker started by `deploy/kafka/broker.sh` (make test starts it)."""
    address = os.environ.get("PANTAU_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
    if not _broker_up(address):
        message = f"no Kafka broker at {address}: start it with deploy/kafka/broker.sh start"
        if os.environ.get("PANTAU_REQUIRE_BROKER"):
            pytest.fail(message)
        pytest.skip(message)
    return address


@pytest.fixture
def kafka_settings(bootstrap: str) -> KafkaSettings:
    """Settings with topics of their own, so tests never see each other's messages."""
    suffix = uuid.uuid4().hex[:8]
    return KafkaSettings(
        bootstrap=bootstrap,
        partitions=4,
        events_topic=f"t{suffix}.events",
        features_topic=f"t{suffix}.features",
        scores_topic=f"t{suffix}.scores",
        dlq_topic=f"t{suffix}.events.dlq",
    )


class ServerThread:
    """A real uvicorn server on 127.0.0.1 in a background thread."""

    def __init__(self, app: object, port: int | None = None) -> None:
        self.port = port or free_port()
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


@pytest.fixture
def serve() -> Iterator[type[ServerThread]]:
    yield ServerThread
