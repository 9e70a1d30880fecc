"""Lifecycle of deploy/kafka/broker.sh on its own ports and state dir.

Runs a second, small broker beside the one the other Kafka tests use, so it never
touches that broker: start, idempotent start, produce/consume, stop, start again on
the existing storage, stop.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest

from bench.processes import free_port

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "kafka" / "broker.sh"


@pytest.fixture
def broker_env(tmp_path: Path):
    port, controller_port = free_port(), free_port()
    while controller_port == port:
        controller_port = free_port()
    env = {
        **os.environ,
        "PANTAU_KAFKA_PORT": str(port),
        "PANTAU_KAFKA_CONTROLLER_PORT": str(controller_port),
        "PANTAU_KAFKA_DIR": str(tmp_path / "kafka"),
        "PANTAU_KAFKA_HEAP_OPTS": "-Xms128m -Xmx384m",
        # A narrow terminal (or a pytest-xdist worker) must not cut the broker's command
        # line as the script reads it back: that made every start "exit during startup".
        "COLUMNS": "60",
    }
    yield env
    subprocess.run([str(SCRIPT), "stop"], env=env, check=False, timeout=60)


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd="/",
        check=False,
    )


def _roundtrip(bootstrap: str) -> None:
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
    from kafka.admin import NewTopic

    topic = f"broker-script-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])
    finally:
        admin.close()
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for i in range(10):
        producer.send(topic, key=str(i).encode(), value=f"v{i}".encode())
    producer.flush()
    producer.close()
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"g-{topic}",
        auto_offset_reset="earliest",
        consumer_timeout_ms=15_000,
    )
    try:
        values = set()
        for message in consumer:
            values.add(message.value)
            if len(values) == 10:
                break
    finally:
        consumer.close()
    assert values == {f"v{i}".encode() for i in range(10)}


def test_broker_script_lifecycle(broker_env: dict[str, str]) -> None:
    port = broker_env["PANTAU_KAFKA_PORT"]
    state = Path(broker_env["PANTAU_KAFKA_DIR"])

    status = _run(broker_env, "status")
    assert status.returncode == 1, status.stdout + status.stderr

    started = _run(broker_env, "start")
    assert started.returncode == 0, started.stdout + started.stderr
    status = _run(broker_env, "status")
    assert status.returncode == 0
    assert status.stdout.startswith("running pid ")
    assert status.stdout.strip().endswith(f"port {port}")
    cluster_id = (state / "cluster.id").read_text().strip()
    assert len(cluster_id) == 22

    again = _run(broker_env, "start")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "already running" in again.stdout

    _roundtrip(f"127.0.0.1:{port}")

    stopped = _run(broker_env, "stop")
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert _run(broker_env, "status").returncode == 1

    restarted = _run(broker_env, "start")
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    assert (state / "cluster.id").read_text().strip() == cluster_id
    _roundtrip(f"127.0.0.1:{port}")

    assert _run(broker_env, "stop").returncode == 0
    assert _run(broker_env, "stop").returncode == 0
    assert _run(broker_env, "status").returncode == 1
