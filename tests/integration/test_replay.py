"""`pantau replay` of a file gives exactly the alerts the live Kafka services give."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
import pytest

from services.api.app import create_app
from services.ingest.service import IngestService
from services.model.service import ScoreService
from services.simulator import SCENARIOS, simulate
from shared.kafka import ensure_topics, make_producer
from shared.settings import ApiSettings, IngestSettings, KafkaSettings, ScoreSettings

# Minutes on a busy two-core machine: the replay, then the same events through Kafka.
pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.timeout(900)]

# A week of 20 products with peaks after four to six days (the shipped default model
# alerts once a product has a few days of history), and every kind of messy input the
# simulator makes (late, duplicated, malformed, RFC 3339 timestamps).
SCENARIO = dataclasses.replace(
    SCENARIOS["small"], n_products=20, days=7, viral_peak_days=(4.0, 6.0)
)
# A week whose events the shipped default raises four alerts on, for two products.
SEED = 4


@contextmanager
def running(service: IngestService | ScoreService) -> Iterator[None]:
    thread = threading.Thread(target=service.run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        service.stop_event.set()
        thread.join(timeout=30)


def produce_file(kafka: KafkaSettings, events: Path) -> None:
    """Each line keyed by its product, as a platform connector would produce it."""
    producer = make_producer(kafka, linger_ms=20)
    with open(events, "rb") as f:
        for line in f:
            line = line.rstrip(b"\n")
            try:
                key = str(orjson.loads(line).get("product_id", "x")).encode()
            except (orjson.JSONDecodeError, AttributeError):
                key = b"x"
            producer.send(kafka.events_topic, key=key, value=line)
    producer.flush()
    producer.close()


def live_alerts(url: str) -> list[dict]:
    found, cursor = [], ""
    while True:
        page = httpx.get(
            f"{url}/v1/alerts", params={"since": cursor, "limit": 500}, timeout=60
        ).json()
        found += page["items"]
        if not page["items"]:
            return found
        cursor = page["next_cursor"]


def test_replay_alerts_equal_live_alerts(
    kafka_settings: KafkaSettings, tmp_path: Path, serve
) -> None:
    run = simulate(SCENARIO, SEED, tmp_path / "sim", progress=False)
    alerts_path = tmp_path / "alerts.jsonl"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "services.cli",
            "replay",
            str(run.events_path),
            "--alerts-out",
            str(alerts_path),
            "--partitions",
            str(kafka_settings.partitions),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    replayed = [json.loads(line) for line in alerts_path.read_text().splitlines()]
    # Without a promoted model both sides score with the shipped default: a few alerts,
    # and thousands of scores before them.
    assert len(replayed) >= 2, "too few alerts to compare"
    for alert in replayed:
        assert {"product_id", "ts", "score"} <= alert.keys()
        ts = datetime.fromisoformat(alert["ts"].replace("Z", "+00:00"))
        assert ts == datetime.fromtimestamp(alert["tick_ms"] / 1000, UTC)

    ensure_topics(kafka_settings)
    produce_file(kafka_settings, run.events_path)
    ingest = IngestService(
        kafka_settings,
        IngestSettings(
            checkpoint_dir=tmp_path / "ckpt",
            feature_log_dir=tmp_path / "features",
            checkpoint_interval_s=5.0,
            metrics_port=0,
        ),
    )
    scorer = ScoreService(kafka_settings, ScoreSettings(metrics_port=0))
    api = create_app(
        ApiSettings(database_url=f"sqlite:///{tmp_path}/api.db", require_api_keys=False),
        kafka_settings,
    )
    with running(ingest), running(scorer), serve(api) as server:
        deadline = time.monotonic() + 600
        live: list[dict] = []
        while time.monotonic() < deadline and len(live) < len(replayed):
            time.sleep(2)
            live = live_alerts(server.url)
        time.sleep(3)  # anything the live path fires beyond the replay shows up now
        live = live_alerts(server.url)

    replay_accepted = re.search(r"([\d,]+) events? accepted", done.stdout)
    assert replay_accepted is not None, done.stdout
    assert ingest.counts["accepted"] == int(replay_accepted[1].replace(",", ""))
    by_id = lambda alerts: sorted(alerts, key=lambda a: a["id"])  # noqa: E731
    assert by_id(live) == by_id(replayed)
