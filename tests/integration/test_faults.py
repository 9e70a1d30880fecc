"""Faults on the real broker, with the real `pantau ingest`, `pantau score` and `pantau api`
processes: a broker that goes away for a minute, and kill -9 of the scorer and of the API
in the middle of a stream. While the broker is away, a producer with a send pending
closes within seconds. Each run must end with exactly the scores and alerts of an
undisturbed pass over the same events (the cores run in one process), with no restart by
hand after the outage.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import time
from pathlib import Path

import httpx
import orjson
import polars as pl
import pytest

from bench.processes import ServiceProcesses, end_offsets, free_port, service_env, wait_for
from services.model.service import load_scorer
from services.pipeline import LocalPipeline
from services.simulator import SCENARIOS, simulate
from shared.alerts import AlertEngine
from shared.kafka import ensure_topics, make_producer
from shared.runtime import Output
from shared.settings import KafkaSettings, ScoreSettings

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.timeout(900)]

REPO = Path(__file__).resolve().parents[2]
BROKER = REPO / "deploy" / "kafka" / "broker.sh"
# A week of 20 products with peaks after four to six days (the shipped default model
# alerts once a product has a few days of history), and every kind of messy input the
# simulator makes (late, duplicated, malformed, RFC 3339 timestamps).
SCENARIO = dataclasses.replace(
    SCENARIOS["small"], n_products=20, days=7, viral_peak_days=(4.0, 6.0)
)
# A week whose events the shipped default raises four alerts on, for two products.
SEED = 4
OUTAGE_S = 60


@dataclasses.dataclass(frozen=True)
class Reference:
    """What one undisturbed pass over the events gives."""

    scores: set[tuple[str, int]]
    alerts: list[tuple[str, int]]


def reference(lines: list[bytes], partitions: int) -> Reference:
    engine = AlertEngine()
    scores: set[tuple[str, int]] = set()
    alerts: list[tuple[str, int]] = []

    def sink(frame: pl.DataFrame) -> None:
        scores.update(frame.select("product_id", "tick_ms").iter_rows())
        alerts.extend((a["product_id"], a["tick_ms"]) for a in engine.evaluate(frame))

    # The scorer `pantau score` falls back to without a promoted model.
    scorer = load_scorer(ScoreSettings(model_dir=None))
    pipeline = LocalPipeline(scorer, sink, partitions)
    pipeline.submit([line for line in lines if line.strip()])
    return Reference(scores, sorted(alerts))


def keyed(line: bytes) -> bytes:
    try:
        return str(orjson.loads(line).get("product_id", "x")).encode()
    except (orjson.JSONDecodeError, AttributeError):
        return b"x"


def produce(kafka: KafkaSettings, lines: list[bytes]) -> None:
    producer = make_producer(kafka, linger_ms=20)
    for line in lines:
        producer.send(kafka.events_topic, key=keyed(line), value=line)
    producer.flush()
    producer.close()


class Pipeline(ServiceProcesses):
    """`pantau ingest`, `pantau score` and `pantau api` as separate processes."""

    def __init__(self, kafka: KafkaSettings, tmp: Path) -> None:
        self.tmp = tmp
        env = service_env(
            kafka,
            tmp,
            PANTAU_INGEST_CHECKPOINT_INTERVAL_S="2",
            PANTAU_API_RUN_DISPATCHER="false",
        )
        self.port = int(env["PANTAU_API_PORT"])
        super().__init__(env, tmp)

    def alerts(self) -> list[tuple[str, int]]:
        found, cursor = [], ""
        while True:
            page = httpx.get(
                f"http://127.0.0.1:{self.port}/v1/alerts",
                params={"since": cursor, "limit": 500},
                timeout=30,
            ).json()
            found += [(a["product_id"], a["tick_ms"]) for a in page["items"]]
            if not page["items"]:
                return sorted(found)
            cursor = page["next_cursor"]

    def scores(self) -> set[tuple[str, int]]:
        import sqlite3

        with sqlite3.connect(self.tmp / "api.db") as db:
            return set(db.execute("SELECT product_id, tick_ms FROM scores_history"))

    def wait_for(self, expected: Reference, timeout_s: float = 300) -> None:
        """Until the store holds every expected score (and nothing for a few seconds more)."""

        have: set[tuple[str, int]] = set()

        def stored() -> bool:
            nonlocal have
            try:
                have = self.scores() & expected.scores
            except Exception:  # the store is created by the API at start
                return False
            return have == expected.scores

        try:
            wait_for(stored, "every expected score", timeout_s, 1.0, self.check_alive)
        except AssertionError as exc:
            raise AssertionError(f"{exc}: store has {len(have)} of {len(expected.scores)}") from exc
        time.sleep(3)  # anything beyond the reference shows up now

    def wait_until_serving(self) -> None:
        def serving() -> bool:
            return httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2).is_success

        wait_for(serving, "the API to serve", 120, 0.3, self.check_alive)


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    run = simulate(SCENARIO, SEED, tmp_path_factory.mktemp("sim"), progress=False)
    return [line for line in run.events_path.read_bytes().split(b"\n") if line.strip()]


@pytest.fixture
def own_broker(tmp_path: Path):
    """A broker of this test's own, on its own ports: the test stops and restarts it."""
    port, controller = free_port(), free_port()
    env = {
        **os.environ,
        "PANTAU_KAFKA_PORT": str(port),
        "PANTAU_KAFKA_CONTROLLER_PORT": str(controller),
        "PANTAU_KAFKA_DIR": str(tmp_path / "kafka"),
        "PANTAU_KAFKA_HEAP_OPTS": "-Xms256m -Xmx512m",
    }

    def broker(command: str) -> None:
        subprocess.run([str(BROKER), command], env=env, check=True, timeout=180, cwd=REPO)

    broker("start")
    yield f"127.0.0.1:{port}", broker
    broker("stop")


def test_a_broker_outage_of_a_minute_heals_itself(
    own_broker, events: list[bytes], tmp_path: Path
) -> None:
    bootstrap, broker = own_broker
    kafka = KafkaSettings(bootstrap=bootstrap, partitions=4)
    expected = reference(events, kafka.partitions)
    assert len(expected.alerts) >= 2, "too few alerts to compare"
    ensure_topics(kafka)
    pipeline = Pipeline(kafka, tmp_path)
    for name in ("ingest", "score", "api"):
        pipeline.start(name)
    try:
        pipeline.wait_until_serving()
        half = len(events) // 2
        produce(kafka, events[:half])
        deadline = time.monotonic() + 120
        while not pipeline.scores() and time.monotonic() < deadline:
            pipeline.check_alive()
            time.sleep(0.5)
        assert pipeline.scores(), "nothing scored before the outage"

        output = Output(make_producer(kafka))  # on the dead-letter topic, read by nobody here
        output.send(kafka.dlq_topic, b"before", 0)
        output.flush(30)  # the topic's metadata is known: a send while away does not block
        broker("stop")
        stopped = time.monotonic()
        output.send(kafka.dlq_topic, b"while away", 0)
        output.close()  # waits 5 s for the broker, not the delivery timeout (2 min)
        assert time.monotonic() - stopped < 15, "close waited for a broker that is gone"
        time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - stopped)))
        pipeline.check_alive()  # nobody gave up while the broker was away
        broker("start")

        produce(kafka, events[half:])
        pipeline.wait_for(expected)
        assert pipeline.scores() == expected.scores
        assert pipeline.alerts() == expected.alerts
    finally:
        pipeline.stop()


def test_kill_9_of_the_scorer_and_the_api_mid_stream_loses_and_doubles_nothing(
    kafka_settings: KafkaSettings, events: list[bytes], tmp_path: Path
) -> None:
    kafka = kafka_settings
    expected = reference(events, kafka.partitions)
    assert len(expected.alerts) >= 2, "too few alerts to compare"
    ensure_topics(kafka)
    pipeline = Pipeline(kafka, tmp_path)
    for name in ("ingest", "score", "api"):
        pipeline.start(name)
    try:
        pipeline.wait_until_serving()
        chunks = 8
        size = len(events) // chunks + 1
        for i in range(chunks):
            produce(kafka, events[i * size : (i + 1) * size])
            time.sleep(1.0)
            if i in (2, 5):  # while the scorer has a stream in hand
                pipeline.kill("score")
                pipeline.start("score")
            if i in (3, 6):
                pipeline.kill("api")
                pipeline.start("api")
                pipeline.wait_until_serving()
        pipeline.wait_for(expected)
        assert pipeline.starts == {"ingest": 1, "score": 3, "api": 3}
        assert pipeline.scores() == expected.scores
        assert pipeline.alerts() == expected.alerts
        # The scorer was killed with scores sent and not committed: the topic may hold a
        # few twice (at-least-once), and the store took each once.
        assert sum(end_offsets(kafka, kafka.scores_topic).values()) > 0
    finally:
        pipeline.stop()
