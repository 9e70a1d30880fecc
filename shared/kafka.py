"""Kafka at the edge: topic creation, clients with sane settings, frames as message values.

Feature and score rows travel as Arrow IPC batches: one message holds the rows of one
source partition and tick, and is produced to that same partition number. Every topic
has the same partition count and the key is `product_id`, so a product's events,
features and scores all live on the same partition number and stay in order.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import gc
import io
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
import polars as pl
from kafka import KafkaAdminClient, KafkaClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import KafkaError, KafkaTimeoutError, TopicAlreadyExistsError

from shared.schema import MALFORMED_FRAME
from shared.settings import KafkaSettings

if TYPE_CHECKING:
    from polars._typing import IpcCompression

log = logging.getLogger(__name__)
ROWS_PER_MESSAGE = 2_000
ARROW_STREAM = b"\xff\xff\xff\xff"  # an Arrow IPC stream opens with this continuation marker
SOCKET_READ_BYTES = 1_048_576


def ensure_topics(settings: KafkaSettings, timeout_s: float = 60.0) -> None:
    """Create the pipeline topics if missing (idempotent; waits for the broker)."""
    topics = [
        settings.events_topic,
        settings.features_topic,
        settings.scores_topic,
        settings.dlq_topic,
    ]
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            admin = KafkaAdminClient(**client_options(settings), client_id="pantau-admin")
            break
        except KafkaError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1.0)
    try:
        existing = set(admin.list_topics())
        missing = [
            NewTopic(
                name,
                settings.partitions,
                1,
                topic_configs={"max.message.bytes": str(settings.max_message_bytes)},
            )
            for name in topics
            if name not in existing
        ]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(missing)
        _wait_for_metadata(settings, topics, deadline)
    finally:
        admin.close()


def _wait_for_metadata(settings: KafkaSettings, topics: list[str], deadline: float) -> None:
    consumer = KafkaConsumer(**client_options(settings))
    try:
        while not all(consumer.partitions_for_topic(t) for t in topics):
            if time.monotonic() > deadline:
                raise TimeoutError(f"topics {topics} not visible in time")
            time.sleep(0.2)
    finally:
        consumer.close()


def collect_less_often() -> None:
    """Run the cyclic garbage collector after 100,000 allocations instead of 700.

    kafka-python builds several objects per record, so a poll of 50,000 one-event
    messages set off hundreds of collections that found nothing (the records die by
    reference counting): 13 % of the ingest process's time on one event per message.
    """
    gc.set_threshold(100_000, 20, 10)


def client_options(settings: KafkaSettings) -> dict[str, Any]:
    """What every client the services make shares: the broker, and a version probe that
    waits `api_version_timeout_ms` (kafka-python gives up after 2 s by default)."""
    return {
        "bootstrap_servers": settings.bootstrap,
        "api_version_auto_timeout_ms": settings.api_version_timeout_ms,
    }


def make_producer(settings: KafkaSettings, **overrides: object) -> KafkaProducer:
    """An idempotent producer: acks from all replicas, and retries that keep order.

    Without idempotence kafka-python retries forever with 5 requests in flight, so a batch
    retried on a busy broker could land after later ones; ingest judges lateness by arrival
    order, and real events became `late` dead letters. Idempotence (kafka-python 2.3 allows
    it with one request in flight per connection, which it then sets) keeps each
    partition's records in the order sent and writes a retried batch once.
    """
    options: dict[str, Any] = {  # KafkaProducer's keyword arguments
        **client_options(settings),
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": 5,
        "batch_size": 1_048_576,
        "max_request_size": settings.max_message_bytes,
        "compression_type": None,
    }
    options.update(overrides)
    producer = KafkaProducer(**options)
    _await_producer_id(producer, options.get("max_block_ms", 60_000) / 1000)
    return producer


def _await_producer_id(producer: KafkaProducer, timeout_s: float) -> None:
    """Return once the broker has given `producer` its id (a round trip, milliseconds).

    kafka-python 2.3's sender asks for the id as it starts and swallows a close's wake-up
    meanwhile: a producer closed in those first milliseconds then blocked in `close` until
    its next metadata refresh, 5 minutes later. Waiting here keeps every close prompt.
    """
    manager = producer._transaction_manager
    deadline = time.monotonic() + timeout_s
    while manager is not None and not manager.has_producer_id():
        if time.monotonic() > deadline:
            producer.close(timeout=0)
            raise KafkaTimeoutError(f"no producer id from the broker within {timeout_s:.0f} s")
        time.sleep(0.002)


CLOSE_TIMEOUT_S = 5.0  # how long a closing producer waits for its pending sends


def close_producer(producer: KafkaProducer, timeout_s: float = CLOSE_TIMEOUT_S) -> bool:
    """Close `producer` within about `timeout_s` (twice that at worst); False when sends
    were still pending then and are dropped.

    kafka-python 2.3's `close` flushes first: with no timeout it waits out the delivery
    timeout (two minutes) when the broker is gone, and with one it raises from the flush
    and leaves the sender running. Past the timeout the sender is stopped without sending,
    so a service on its way out of a broker outage exits at once; what it had not sent was
    never committed as done, so a restart produces it again.
    """
    try:
        producer.close(timeout=timeout_s)
        return True
    except KafkaTimeoutError:
        sender = producer._sender
        sender.force_close()  # fails the pending batches; the sender's loop ends
        sender.join(timeout_s)
        # A sender still stuck leaves its batches pending: close's flush raises again, and
        # the daemon thread is left to end with the process.
        with contextlib.suppress(KafkaTimeoutError):
            producer.close(timeout=0)
        return False


def make_consumer(
    settings: KafkaSettings, group: str, *topics: str, **overrides: object
) -> KafkaConsumer:
    """A consumer that never auto-commits: the services commit after their output is durable."""
    options: dict[str, Any] = {  # KafkaConsumer's keyword arguments (kafka-python has no types)
        **client_options(settings),
        "group_id": group,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "max_partition_fetch_bytes": 8 * 1_048_576,
        "fetch_max_bytes": 32 * 1_048_576,
        "max_poll_records": 5_000,
        "session_timeout_ms": 10_000,
        "heartbeat_interval_ms": 1_000,
        # A group formed while a restarted broker still lacks some partitions' leaders
        # assigns only the partitions it knows; a new metadata snapshot rebalances it.
        # Fetched every 30 s instead of 5 min, so such a gap closes within half a minute.
        "metadata_max_age_ms": 30_000,
    }
    options.update(overrides)
    # kafka-python drops a connection whose response frame exceeds 1 MB by default, which a
    # full fetch does: the frame limit must cover the largest fetch asked for.
    fetch_max = int(options["fetch_max_bytes"])
    options.setdefault("receive_message_max_bytes", fetch_max + 1_048_576)
    # It also reads the socket in 4 KB chunks by default: a 32 MB fetch took 8,000 reads.
    options.setdefault(
        "kafka_client", functools.partial(KafkaClient, sock_chunk_bytes=SOCKET_READ_BYTES)
    )
    consumer = KafkaConsumer(**options)
    if topics:
        consumer.subscribe(list(topics))
    return consumer


def frame_to_values(
    frame: pl.DataFrame,
    rows_per_message: int = ROWS_PER_MESSAGE,
    compression: IpcCompression = "lz4",
) -> list[bytes]:
    """Encode rows as Arrow IPC stream values of at most `rows_per_message` rows.

    Columnar and compressed: the ingest bench's feature rows encode three times faster
    than as NDJSON (no number formatting), into a tenth of the bytes, and decode four
    times faster (`python -m bench.frames`).
    """
    values = []
    for offset in range(0, frame.height, rows_per_message):
        buffer = io.BytesIO()
        frame.slice(offset, rows_per_message).write_ipc_stream(buffer, compression=compression)
        values.append(buffer.getvalue())
    return values


def values_to_frame(
    values: list[bytes], schema: dict[str, pl.DataType] | None = None
) -> pl.DataFrame:
    """Decode values produced by `frame_to_values` back into rows (as `schema` if given).

    NDJSON values, the earlier format, are still read: a topic written before an upgrade
    drains after it.
    """
    frames = [_conform(_value_frame(v, schema), schema) for v in values if v.strip()]
    if not frames:
        return pl.DataFrame(schema=schema)
    return pl.concat(frames)


def _value_frame(value: bytes, schema: dict[str, pl.DataType] | None) -> pl.DataFrame:
    if value.startswith(ARROW_STREAM):
        return pl.read_ipc_stream(io.BytesIO(value))
    return pl.read_ndjson(io.BytesIO(value), schema=schema)


def _conform(frame: pl.DataFrame, schema: dict[str, pl.DataType] | None) -> pl.DataFrame:
    """The columns of `schema`, in its order and types (absent ones null)."""
    if schema is None:
        return frame
    return frame.select(
        (pl.col(name) if name in frame.columns else pl.lit(None)).cast(dtype).alias(name)
        for name, dtype in schema.items()
    )


@dataclass(frozen=True)
class DecodedFrames:
    """Rows decoded from a batch of frame values, and the values that would not decode."""

    frame: pl.DataFrame
    bad: list[tuple[int, str, bytes]]  # (index in the batch, error, value)

    def dead_letters(self, topic: str, partition: int, offsets: list[int]) -> list[bytes]:
        """One DLQ envelope per bad value: reason, detail, source position, the value (base64)."""
        return [
            orjson.dumps(
                {
                    "reason": MALFORMED_FRAME,
                    "detail": error[:1_000],
                    "topic": topic,
                    "partition": partition,
                    "offset": offsets[index],
                    "raw_base64": base64.b64encode(value[:65_536]).decode(),
                }
            )
            for index, error, value in self.bad
        ]


def decode_frames(values: list[bytes], schema: dict[str, pl.DataType]) -> DecodedFrames:
    """`values_to_frame`, except that a value that does not decode is set aside, not raised:
    one bad message must not stop a consumer (it would re-read it forever)."""
    try:
        return DecodedFrames(values_to_frame(values, schema), [])
    except Exception:  # any decoding failure: each value is then looked at alone
        pass
    frames, bad = [], []
    for index, value in enumerate(values):
        try:
            frames.append(values_to_frame([value], schema))
        except Exception as exc:
            bad.append((index, f"{type(exc).__name__}: {exc}", value))
    frame = pl.concat(frames) if frames else pl.DataFrame(schema=schema)
    return DecodedFrames(frame, bad)
