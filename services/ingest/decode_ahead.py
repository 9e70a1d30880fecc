"""Decode the next batch on a worker thread while the caller folds this one.

Decoding is a pure function of the message values and mostly two long Polars calls
(the NDJSON parse and the validation) that release the GIL; folding is many short NumPy
and Polars calls on the caller's thread. Side by side they use both cores. Only the
decoding moves: folding, producing and committing stay on the caller's thread in batch
order, and the generator hands over every batch it was given before it ends, so nothing
is pending when the consumer polls again (where rebalances happen).

A whole core per thread does not work the same way: a thread folding while another
runs kafka-python's pure-Python fetch loses its time to GIL handoffs (docs/ingest.md).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Executor, Future
from dataclasses import dataclass

import numpy as np
from kafka.consumer.fetcher import ConsumerRecord

from shared.schema import DecodedBatch, Lines, decode_lines


@dataclass(frozen=True)
class DecodedMessages:
    """One partition's polled messages, their lines and the decoded events."""

    partition: int
    messages: list[ConsumerRecord]
    lines: Lines
    message_index: np.ndarray  # the message of each line
    decoded: DecodedBatch
    decode_s: float


def _decode(partition: int, messages: list[ConsumerRecord], values: list[bytes]) -> DecodedMessages:
    started = time.perf_counter()
    lines, message_index = Lines.of(values)
    decoded = decode_lines(lines)
    elapsed = time.perf_counter() - started
    return DecodedMessages(partition, messages, lines, message_index, decoded, elapsed)


def decode_ahead(
    batches: Iterable[tuple[int, list[ConsumerRecord]]], pool: Executor
) -> Iterator[DecodedMessages]:
    """Each (partition, messages) batch decoded, in order; the next one is decoded on
    `pool` while the caller handles the one yielded."""
    pending: Future[DecodedMessages] | None = None
    for partition, messages in batches:
        values = [m.value or b"" for m in messages]
        upcoming = pool.submit(_decode, partition, messages, values)
        if pending is not None:
            yield pending.result()
        pending = upcoming
    if pending is not None:
        yield pending.result()
