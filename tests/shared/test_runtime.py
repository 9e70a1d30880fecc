"""The consumer runtime on the real broker, through the services that run on it: a refused
send is never committed past, a message that does not decode goes to the DLQ instead of
stopping the consumer, and an error in a rebalance callback stops the loop instead of
leaving a partition silently unread."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable

import httpx
import orjson
import polars as pl
import pytest
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import KafkaTimeoutError

from services.api.app import create_app
from services.model.baseline import GrowthRatioScorer
from services.model.service import ScoreService
from shared.features import FEATURE_SCHEMA
from shared.kafka import ensure_topics, frame_to_values, make_consumer, make_producer
from shared.runtime import ConsumerRuntime, LoopSettings, SendFailed
from shared.settings import ApiSettings, KafkaSettings, ScoreSettings

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(180)]


def feature_rows(products: int = 3) -> pl.DataFrame:
    rows = {
        name: [0.0] * products if dtype == pl.Float64() else [None] * products
        for name, dtype in FEATURE_SCHEMA.items()
    }
    rows.update(
        product_id=[f"p{i}" for i in range(products)],
        partition=[0] * products,
        tick_ms=[1_767_225_600_000] * products,
        watermark_ms=[1_767_225_600_000] * products,
        top_regions=[[]] * products,
        platforms=[["tiktok"]] * products,
        events_24h=[10.0] * products,
        events_1h=[5.0] * products,
    )
    return pl.DataFrame(rows, schema=FEATURE_SCHEMA)


def send(kafka: KafkaSettings, topic: str, values: list[bytes]) -> None:
    producer = make_producer(kafka)
    for value in values:
        producer.send(topic, value=value, partition=0).get(timeout=30)
    producer.close()


def read(kafka: KafkaSettings, topic: str, partition: int = 0) -> list[bytes]:
    consumer = KafkaConsumer(bootstrap_servers=kafka.bootstrap, enable_auto_commit=False)
    tp = TopicPartition(topic, partition)
    consumer.assign([tp])
    consumer.seek_to_beginning(tp)
    end = consumer.end_offsets([tp])[tp]
    values: list[bytes] = []
    deadline = time.monotonic() + 30
    while consumer.position(tp) < end and time.monotonic() < deadline:
        for messages in consumer.poll(timeout_ms=500).values():
            values += [m.value for m in messages]
    consumer.close()
    return values


def committed(kafka: KafkaSettings, group: str, topic: str) -> int | None:
    consumer = KafkaConsumer(bootstrap_servers=kafka.bootstrap, group_id=group)
    try:
        return consumer.committed(TopicPartition(topic, 0))
    finally:
        consumer.close()


def wait_until(condition: Callable[[], bool], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.2)


class Running:
    """A service's `run` on a thread; the exception it ended with, if any."""

    def __init__(self, service: ScoreService) -> None:
        self.service, self.error = service, None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.service.run()
        except BaseException as exc:
            self.error = exc

    def __enter__(self) -> Running:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.service.stop_event.set()
        self.thread.join(timeout=30)


def test_scores_the_broker_refuses_stop_the_scorer_before_their_offsets_are_committed(
    kafka_settings: KafkaSettings,
) -> None:
    admin = KafkaAdminClient(bootstrap_servers=kafka_settings.bootstrap)
    admin.create_topics(
        [NewTopic(kafka_settings.scores_topic, 4, 1, topic_configs={"max.message.bytes": "256"})]
    )
    admin.close()
    ensure_topics(kafka_settings)
    send(kafka_settings, kafka_settings.features_topic, frame_to_values(feature_rows()))
    group = f"g{uuid.uuid4().hex[:8]}"
    service = ScoreService(
        kafka_settings, ScoreSettings(group=group, metrics_port=0, model_dir=None)
    )
    with Running(service) as running:
        running.thread.join(timeout=90)
        assert not running.thread.is_alive(), "the scorer went on although its scores were lost"
    assert isinstance(running.error, SendFailed)
    assert committed(kafka_settings, group, kafka_settings.features_topic) is None


def test_a_feature_message_that_does_not_decode_goes_to_the_dlq_and_scoring_goes_on(
    kafka_settings: KafkaSettings,
) -> None:
    ensure_topics(kafka_settings)
    good = frame_to_values(feature_rows())
    send(kafka_settings, kafka_settings.features_topic, [b"\xff\xff\xff\xffnot arrow", *good])
    group = f"g{uuid.uuid4().hex[:8]}"
    service = ScoreService(
        kafka_settings, ScoreSettings(group=group, metrics_port=0, model_dir=None)
    )
    with Running(service) as running:
        wait_until(
            lambda: (
                committed(kafka_settings, group, kafka_settings.features_topic) == 2
                or running.error is not None
            )
        )
    assert running.error is None
    assert service.rows_scored == 3
    (letter,) = [orjson.loads(v) for v in read(kafka_settings, kafka_settings.dlq_topic)]
    assert letter["reason"] == "malformed_frame"
    assert (letter["topic"], letter["partition"], letter["offset"]) == (
        kafka_settings.features_topic,
        0,
        0,
    )


def test_the_api_keeps_consuming_scores_after_one_that_does_not_decode(
    kafka_settings: KafkaSettings, tmp_path, serve
) -> None:
    ensure_topics(kafka_settings)
    scores = GrowthRatioScorer().score(feature_rows())
    send(
        kafka_settings,
        kafka_settings.scores_topic,
        [b"{not json", *frame_to_values(scores)],
    )
    api = create_app(
        ApiSettings(
            database_url=f"sqlite:///{tmp_path}/api.db",
            require_api_keys=False,
            run_dispatcher=False,
            group=f"g{uuid.uuid4().hex[:8]}",
        ),
        kafka_settings,
    )
    with serve(api) as server:
        wait_until(lambda: httpx.get(f"{server.url}/v1/products/p2", timeout=5).status_code == 200)
        assert httpx.get(f"{server.url}/readyz", timeout=5).json()["kafka"] == "ok"
    (letter,) = [orjson.loads(v) for v in read(kafka_settings, kafka_settings.dlq_topic)]
    assert (letter["reason"], letter["offset"]) == ("malformed_frame", 0)


class RefusesPartitions:
    """A step that cannot take over any partition (a state store it cannot read)."""

    def start(self, partition: int) -> int:
        raise RuntimeError(f"cannot take over partition {partition}")

    def prepare(self, partition: int, values: list[bytes]) -> list[bytes]:
        return values

    def process(self, batch: object, output: object) -> None:
        raise AssertionError("a partition it could not take over was read")

    def idle(self, output: object) -> None: ...

    def save(self, partitions: list[int], positions: dict[int, int]) -> None: ...

    def forget(self, partitions: list[int]) -> None: ...


def test_an_error_taking_over_a_partition_stops_the_loop_instead_of_skipping_it(
    kafka_settings: KafkaSettings,
) -> None:
    """kafka-python logs and swallows exceptions raised in rebalance callbacks."""
    ensure_topics(kafka_settings)
    send(kafka_settings, kafka_settings.events_topic, [b"{}"])
    group = f"g{uuid.uuid4().hex[:8]}"
    loop = LoopSettings(group=group, topic=kafka_settings.events_topic, service="test")
    runtime = ConsumerRuntime(loop, RefusesPartitions(), make_consumer(kafka_settings, group))
    with pytest.raises(RuntimeError, match="cannot take over partition"):
        runtime.run()
    assert not runtime.ready


class StumblesOnce:
    """Counts the messages it processes per partition; the first batch it is handed raises
    a broker timeout, and so does the resume's start of partition 1, once."""

    def __init__(self) -> None:
        self.seen: dict[int, set[int]] = {}
        self.failed_batch = self.failed_start = False
        self.resuming = False

    def start(self, partition: int) -> None:
        if self.resuming and partition == 1 and not self.failed_start:
            self.failed_start = True
            raise KafkaTimeoutError("coordinator not available")
        return None

    def prepare(self, partition: int, values: list[bytes]) -> list[bytes]:
        return values

    def process(self, batch, output) -> None:  # type: ignore[no-untyped-def]
        if not self.failed_batch:
            self.failed_batch = self.resuming = True
            raise KafkaTimeoutError("send timed out")
        self.seen.setdefault(batch.partition, set()).update(batch.offsets)

    def idle(self, output: object) -> None: ...

    def save(self, partitions: list[int], positions: dict[int, int]) -> None: ...

    def forget(self, partitions: list[int]) -> None: ...


def test_a_resume_cut_short_still_reads_every_assigned_partition(
    kafka_settings: KafkaSettings,
) -> None:
    ensure_topics(kafka_settings)
    producer = make_producer(kafka_settings)
    for partition in range(4):
        for i in range(5):
            producer.send(kafka_settings.events_topic, value=b"%d" % i, partition=partition)
    producer.flush()
    producer.close()
    group = f"g{uuid.uuid4().hex[:8]}"
    loop = LoopSettings(group=group, topic=kafka_settings.events_topic, service="test")
    step = StumblesOnce()
    runtime = ConsumerRuntime(loop, step, make_consumer(kafka_settings, group))
    thread = threading.Thread(target=runtime.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: all(len(step.seen.get(p, ())) == 5 for p in range(4)), 60)
    finally:
        runtime.stop_event.set()
        thread.join(timeout=30)
    assert step.failed_batch and step.failed_start
