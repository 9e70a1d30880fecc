"""Events to `pantau.events`: NDJSON values of many events, one partition per value.

Ingest decodes a message's value in one call, so a value of a thousand events costs it
about what one event does; values are grouped by the Kafka partition each product lives
on (Kafka's default partitioner, `shared.partitioning`), which is where a message keyed
by `product_id` would have gone. Every send is checked (`shared.runtime.Output`).
"""

from __future__ import annotations

import sys
from typing import TextIO

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from shared.kafka import ensure_topics, make_producer
from shared.partitioning import partition_for
from shared.runtime import Output
from shared.schema import Lines
from shared.settings import KafkaSettings

# Headroom under the broker's message limit for the record and batch framing.
FRAMING_BYTES = 64 * 1024


def line_partitions(product_ids: pl.Series, partitions: int) -> np.ndarray:
    """The partition of each line's product; each distinct product is hashed once."""
    unique = product_ids.unique()
    table = pl.DataFrame(
        {
            "product_id": unique,
            "partition": [partition_for(p, partitions) for p in unique.to_list()],
        },
        schema={"product_id": pl.String, "partition": pl.Int64},
    )
    joined = product_ids.to_frame("product_id").join(
        table, on="product_id", how="left", maintain_order="left"
    )
    return joined["partition"].to_numpy()


def group_values(
    lines: Lines, keep: np.ndarray, partition: np.ndarray, max_value_bytes: int
) -> list[tuple[int, bytes]]:
    """(partition, value) messages holding lines `keep` (line `keep[i]` goes to
    `partition[i]`), in line order within a partition; a value stays under
    `max_value_bytes` unless one line alone is larger."""
    if len(keep) == 0:
        return []
    order = np.argsort(partition, kind="stable")
    kept, parts = keep[order], partition[order]
    buffer, offsets = _gathered(lines, kept)
    partition_ends = np.r_[np.flatnonzero(parts[1:] != parts[:-1]) + 1, len(kept)]
    values, lo = [], 0
    for hi in partition_ends.tolist():
        while lo < hi:
            # As many whole lines as fit (at least one): one step per value, not per line.
            limit = offsets[lo] + max_value_bytes + 1  # + the newline after the last line
            end = max(int(np.searchsorted(offsets[lo + 1 : hi + 1], limit, side="right")), 1) + lo
            values.append((int(parts[lo]), bytes(buffer[offsets[lo] : offsets[end] - 1])))
            lo = end
    return values


def _gathered(lines: Lines, kept: np.ndarray) -> tuple[memoryview, np.ndarray]:
    """Lines `kept`, each with a newline, in one buffer, and where each starts (plus the end).

    When the lines sit back to back in their buffer (one chunk of a file, one frame's
    NDJSON), Arrow gathers them natively; otherwise they are joined one by one.
    """
    n = len(lines)
    if n and np.array_equal(lines.starts[1:], lines.ends[:-1] + 1):
        bounds = np.r_[lines.starts, lines.ends[-1] + 1].astype(np.int64)
        source = pa.LargeBinaryArray.from_buffers(
            pa.large_binary(), n, [None, pa.py_buffer(bounds), pa.py_buffer(lines.data + b"\n")]
        )
        taken = pc.take(source, pa.array(kept, type=pa.int64()))
        raw_offsets = np.frombuffer(taken.buffers()[1], dtype=np.int64)
        offsets = raw_offsets[taken.offset : taken.offset + len(kept) + 1]
        return memoryview(taken.buffers()[2]), offsets - offsets[0]
    joined = b"".join(line + b"\n" for line in lines.take(kept))
    offsets = np.r_[0, np.cumsum(lines.sizes[kept] + 1)].astype(np.int64)
    return memoryview(joined), offsets


def event_lines(events: pl.DataFrame) -> Lines:
    """Wire-format NDJSON lines of an events frame, one per row, in row order."""
    if events.height == 0:
        return Lines.of([])[0]
    return Lines.of([events.write_ndjson().encode()])[0]


class EventWriter:
    """Produces events to the events topic, or with `dry_run` prints them to `echo`.

    `send` returns at once; `flush` waits for the broker and raises
    `shared.runtime.SendFailed` if it refused any message, so a caller saves its
    baselines (or reports success) only after a flush that returned.
    """

    def __init__(
        self, kafka: KafkaSettings, dry_run: bool = False, echo: TextIO | None = None
    ) -> None:
        self.kafka, self.dry_run = kafka, dry_run
        self.echo = echo if echo is not None or not dry_run else sys.stdout
        self.max_value_bytes = max(kafka.max_message_bytes - FRAMING_BYTES, 64 * 1024)
        self.events_sent = self.messages_sent = self.dead_letters_sent = 0
        self._output: Output | None = None
        self.partitions = kafka.partitions
        if not dry_run:
            ensure_topics(kafka)
            producer = make_producer(kafka)
            # The topic's real partition count, which may differ from the setting when an
            # older topic was created with another.
            self.partitions = len(producer.partitions_for(kafka.events_topic))
            self._output = Output(producer)

    def send(self, events: pl.DataFrame) -> None:
        """Send an events frame (wire-format columns; `ts` as epoch ms or RFC 3339)."""
        lines = event_lines(events)
        self.send_lines(
            lines,
            np.arange(len(lines)),
            events["product_id"] if events.height else pl.Series([], dtype=pl.String),
        )

    def send_lines(self, lines: Lines, keep: np.ndarray, product_ids: pl.Series) -> None:
        """Send lines `keep` of `lines` as they are; `product_ids[i]` is line `keep[i]`'s."""
        if len(keep) == 0:
            return
        if self.echo is not None:
            for i in keep.tolist():
                self.echo.write(lines[i].decode() + "\n")
        if self._output is None:
            self.events_sent += len(keep)
            return
        partition = line_partitions(product_ids, self.partitions)
        for p, value in group_values(lines, keep, partition, self.max_value_bytes):
            self._output.send(self.kafka.events_topic, value, p)
            self.messages_sent += 1
        self.events_sent += len(keep)

    def send_dead_letters(self, envelopes: list[bytes]) -> None:
        """DLQ envelopes (as ingest writes them) to the dead-letter topic."""
        if self._output is not None:
            for envelope in envelopes:
                self._output.send(self.kafka.dlq_topic, envelope, 0)
        self.dead_letters_sent += len(envelopes)

    def flush(self, timeout_s: float | None = 60.0) -> None:
        if self._output is not None:
            self._output.flush(timeout_s)
        if self.echo is not None:
            self.echo.flush()

    def close(self) -> None:
        if self._output is not None:
            self._output.close()
            self._output = None
