"""`pantau demo` serves trends and the seller page quickly, on either bus, and stops cleanly.

Run as a user runs it (a subprocess); Ctrl-C is a real SIGINT.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from kafka import KafkaConsumer, TopicPartition

from bench.processes import free_port
from services.demo.model import trained_before, training_seeds

HERE = Path(__file__).resolve().parents[2]


def start_demo(port: int, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "services.cli",
            "demo",
            "--port",
            str(port),
            "--speed",
            "4",
            "--products",
            "40",
            "--no-train",
        ],
        env=env,
        cwd=HERE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_trends(proc: subprocess.Popen[str], port: int, timeout_s: float) -> list[dict]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        time.sleep(1)
        try:
            items = httpx.get(f"http://127.0.0.1:{port}/v1/trends").json()["items"]
        except httpx.TransportError:
            assert proc.poll() is None, proc.communicate()[1]
            continue
        if items:
            return items
    return []


def stop(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    """Ctrl-C, then the exit code and both streams."""
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out, err


def uncaught(err: str) -> list[str]:
    """stderr lines that are not structured log records."""
    return [line for line in err.splitlines() if not line.startswith('{"ts"')]


def without_kafka() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("PANTAU_KAFKA")}


def test_demo_serves_trends_and_page_then_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    proc = start_demo(port, without_kafka() | {"TMPDIR": str(tmp_path)})
    try:
        items = wait_for_trends(proc, port, 60)
        assert items, "no trends within 60 s"
        assert items == sorted(items, key=lambda i: -i["score"])
        page = httpx.get(f"http://127.0.0.1:{port}/")
        assert page.status_code == 200 and '<html lang="id"' in page.text
    finally:
        code, out, err = stop(proc)
    assert code == 0, err
    assert "Traceback" not in err + out
    assert f"http://127.0.0.1:{port}/" in out
    assert "bus in-process" in out and "demo stopped" in out
    assert not list(tmp_path.glob("pantau-demo-*")), "the demo left its temporary directory"
    steps = [line.split(":")[0] for line in out.splitlines() if line[:1].isdigit()]
    assert steps == ["1/3 model", "2/3 simulating", "3/3 serving"]


def test_a_taken_port_ends_the_demo_in_one_line_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()
        proc = start_demo(port, without_kafka() | {"TMPDIR": str(tmp_path)})
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1
    assert err.splitlines() == [
        f"pantau: port {port} on 127.0.0.1 is already in use: pass --port (make demo PORT=...)"
    ]
    assert out == ""  # nothing was simulated, trained or served
    assert time.monotonic() - started < 30
    assert not list(tmp_path.glob("pantau-demo-*"))


@pytest.mark.kafka
def test_demo_uses_kafka_when_a_broker_is_configured(bootstrap: str) -> None:
    port, prefix = free_port(), f"t{uuid.uuid4().hex[:10]}"
    env = without_kafka() | {
        "PANTAU_KAFKA_BOOTSTRAP": bootstrap,
        "PANTAU_KAFKA_EVENTS_TOPIC": f"{prefix}.events",
        "PANTAU_KAFKA_FEATURES_TOPIC": f"{prefix}.features",
        "PANTAU_KAFKA_SCORES_TOPIC": f"{prefix}.scores",
        "PANTAU_KAFKA_DLQ_TOPIC": f"{prefix}.events.dlq",
    }
    proc = start_demo(port, env)
    try:
        items = wait_for_trends(proc, port, 120)
        assert items, "no trends through Kafka within 120 s"
    finally:
        code, out, err = stop(proc)
    assert code == 0, err
    # kafka-python logs a failing rebalance listener (with its trace) inside a JSON log
    # line while the ingest service closes; nothing may escape uncaught.
    assert "Traceback" not in out + "".join(uncaught(err))
    assert f"bus Kafka {bootstrap} ({prefix}.events)" in out
    # The scores the API served went through the broker: the topics hold the traffic.
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        for topic in (f"{prefix}.events", f"{prefix}.scores"):
            parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
            assert sum(consumer.end_offsets(parts).values()) > 0, topic
    finally:
        consumer.close()


def test_demo_rejects_a_missing_model_directory(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "services.cli", "demo", "--model", str(tmp_path / "none")],
        env=without_kafka() | {"COLUMNS": "400"},
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "no such model directory" in done.stderr


def test_demo_trains_on_other_seeds_and_reuses_the_trained_version(tmp_path: Path) -> None:
    for seed in (1, 2, 3, 7):
        seeds = training_seeds(seed)
        assert len(seeds) == 2 and seed not in seeds
    old, new, other = tmp_path / "v1", tmp_path / "v2", tmp_path / "v3"
    for directory, created, seeds, scenario in (
        (old, 1.0, [1, 2], "small"),
        (new, 2.0, [1, 2], "small"),
        (other, 3.0, [1, 2], "hard"),
    ):
        directory.mkdir()
        (directory / "metadata.json").write_text(
            f'{{"created_s": {created}, "training_seeds": {seeds}, '
            f'"source": {{"scenario": "{scenario}"}}}}'
        )
    assert trained_before(tmp_path, [1, 2]) == new
    assert trained_before(tmp_path, [1, 3]) is None
