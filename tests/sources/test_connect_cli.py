"""`pantau connect youtube` as an operator runs it: a process with JSON logs, metrics,
checkpointed state, a dry run that prints instead of producing, a clean SIGTERM, and one
line and a non-zero exit for a missing or refused key."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
import pytest
from fake_apis import API_KEY, FakeYouTube
from kafka import KafkaConsumer

from shared.settings import KafkaSettings

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def fake() -> FakeYouTube:
    published = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return FakeYouTube(
        videos={
            "vidA": {"publishedAt": published, "title": "Sambal", "viewCount": 10, "likeCount": 1},
            "vidB": {"publishedAt": published, "title": "Keripik", "viewCount": 5},
        },
        popular=["vidA", "vidB"],
        growth={"vidA": 7},
    )


@pytest.fixture
def api(fake: FakeYouTube, serve) -> Iterator[str]:
    with serve(fake.app()) as server:
        yield f"{server.url}/youtube/v3"


def env(api: str, state_dir: Path, **more: str) -> dict[str, str]:
    return {
        **os.environ,
        "PANTAU_YOUTUBE_API_KEY": API_KEY,
        "PANTAU_YOUTUBE_BASE_URL": api,
        "PANTAU_YOUTUBE_MIN_INTERVAL_S": "0",
        "PANTAU_YOUTUBE_MAX_INTERVAL_S": "0.3",
        "PANTAU_YOUTUBE_BACKOFF_S": "0.01",
        "PANTAU_CONNECT_STATE_DIR": str(state_dir),
        "PANTAU_CONNECT_METRICS_PORT": "0",
        **more,
    }


def pantau(
    *args: str, environ: dict[str, str], timeout_s: float = 60
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        cwd=REPO,
        env=environ,
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )


def test_dry_run_prints_events_and_keeps_no_state(api: str, tmp_path: Path) -> None:
    done = pantau(
        "connect", "youtube", "--dry-run", "--polls", "3", environ=env(api, tmp_path / "s")
    )
    assert done.returncode == 0, done.stderr
    events = [orjson.loads(line) for line in done.stdout.splitlines()]
    assert [(e["product_id"], e["action"], e["count"]) for e in events] == [
        ("youtube:vidA", "view", 7),
        ("youtube:vidA", "view", 7),
    ]
    logs = [orjson.loads(line) for line in done.stderr.splitlines()]
    assert [r["outcome"] for r in logs if r["msg"] == "poll done"] == ["ok"] * 3
    assert API_KEY not in done.stderr
    assert not (tmp_path / "s").exists()


def test_missing_key_is_one_line_and_exit_2(tmp_path: Path) -> None:
    environ = env("http://127.0.0.1:9", tmp_path, PANTAU_YOUTUBE_API_KEY="")
    done = pantau("connect", "youtube", "--dry-run", environ=environ)
    assert done.returncode == 2
    assert "PANTAU_YOUTUBE_API_KEY" in done.stderr


def test_refused_key_is_one_line_and_exit_1(api: str, tmp_path: Path) -> None:
    environ = env(api, tmp_path, PANTAU_YOUTUBE_API_KEY="AIzaWrongKey")
    done = pantau("connect", "youtube", "--dry-run", environ=environ)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1].startswith("pantau: the platform refused")
    assert "keyInvalid" in done.stderr


@pytest.mark.kafka
def test_service_produces_serves_metrics_and_stops_on_sigterm(
    api: str, tmp_path: Path, kafka_settings: KafkaSettings
) -> None:
    with __import__("socket").socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    environ = env(
        api,
        tmp_path / "state",
        PANTAU_CONNECT_METRICS_PORT=str(port),
        PANTAU_KAFKA_BOOTSTRAP=kafka_settings.bootstrap,
        PANTAU_KAFKA_EVENTS_TOPIC=kafka_settings.events_topic,
        PANTAU_KAFKA_FEATURES_TOPIC=kafka_settings.features_topic,
        PANTAU_KAFKA_SCORES_TOPIC=kafka_settings.scores_topic,
        PANTAU_KAFKA_DLQ_TOPIC=kafka_settings.dlq_topic,
    )
    log_path = tmp_path / "connect.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "connect", "youtube"],
            cwd=REPO,
            env=environ,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            body = ""
            while time.monotonic() < deadline:
                assert proc.poll() is None, log_path.read_text()
                try:
                    body = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
                except httpx.HTTPError:
                    body = ""
                if 'pantau_connect_polls_total{outcome="ok"} 3.0' in body:
                    break
                time.sleep(0.2)
            assert "pantau_connect_tracked_items 2.0" in body, body[-2000:]
            assert "pantau_connect_quota_limit 10000.0" in body
            gauges = dict(
                line.split(" ", 1) for line in body.splitlines() if line.startswith("pantau_")
            )
            last = float(gauges["pantau_connect_last_poll_timestamp_seconds"])
            planned = float(gauges["pantau_connect_next_poll_timestamp_seconds"])
            assert planned > last > time.time() - 60  # the next poll is planned after the last
            assert "pantau_ingest_events_total" not in body  # only the connector's metrics
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=20) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
    records = [orjson.loads(line) for line in log_path.read_bytes().splitlines()]
    assert records[-1]["msg"] == "youtube connector stopped"
    polls = sum(r["msg"] == "poll done" for r in records)
    consumer = KafkaConsumer(
        kafka_settings.events_topic,
        bootstrap_servers=kafka_settings.bootstrap,
        auto_offset_reset="earliest",
        consumer_timeout_ms=3000,
    )
    lines = [line for m in consumer for line in m.value.splitlines()]
    consumer.close()
    events = [orjson.loads(line) for line in lines]
    assert len(events) == polls - 1  # one view increase per poll after the first
    assert {e["count"] for e in events} == {7}
    assert len({e["event_id"] for e in events}) == len(events)
    assert (tmp_path / "state" / "youtube" / "CURRENT").exists()


@pytest.mark.kafka
def test_killed_at_any_moment_never_counts_twice(
    api: str, fake: FakeYouTube, tmp_path: Path, kafka_settings: KafkaSettings
) -> None:
    """SIGKILL the connector at random moments of rapid polling, restart it each time:
    the events, once ingest drops repeated ids, add up to exactly the counter's rise."""
    import random

    rng = random.Random(18)
    environ = env(
        api,
        tmp_path / "state",
        PANTAU_YOUTUBE_MAX_INTERVAL_S="0.02",
        PANTAU_KAFKA_BOOTSTRAP=kafka_settings.bootstrap,
        PANTAU_KAFKA_EVENTS_TOPIC=kafka_settings.events_topic,
        PANTAU_KAFKA_FEATURES_TOPIC=kafka_settings.features_topic,
        PANTAU_KAFKA_SCORES_TOPIC=kafka_settings.scores_topic,
        PANTAU_KAFKA_DLQ_TOPIC=kafka_settings.dlq_topic,
    )
    log_path = tmp_path / "connect.log"
    for run in range(4):
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "services.cli", "connect", "youtube"],
                cwd=REPO,
                env=environ,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            polls_before = log_path.read_bytes().count(b'"poll done"')
            deadline = time.monotonic() + 60
            while log_path.read_bytes().count(b'"poll done"') < polls_before + 3:
                assert proc.poll() is None and time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.02)
            if run < 3:
                time.sleep(rng.uniform(0, 0.3))  # somewhere inside a poll, or between two
                proc.kill()
                proc.wait(timeout=20)
            else:
                proc.send_signal(signal.SIGTERM)
                assert proc.wait(timeout=20) == 0
    consumer = KafkaConsumer(
        kafka_settings.events_topic,
        bootstrap_servers=kafka_settings.bootstrap,
        auto_offset_reset="earliest",
        consumer_timeout_ms=3000,
    )
    events = [orjson.loads(line) for m in consumer for line in m.value.splitlines()]
    consumer.close()
    by_id: dict[str, dict] = {}
    for event in events:
        assert by_id.setdefault(event["event_id"], event) == event  # a re-send is identical
    # The first poll saw 10 + 7 (the baseline); the last one saw the fake's final count.
    total = sum(e["count"] for e in by_id.values())
    assert total == fake.videos["vidA"]["viewCount"] - 17
