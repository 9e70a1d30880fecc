"""Decode the next batch on a worker thread while the caller folds this one or polls.

Decoding is a pure function of the message values and mostly two long Polars calls
(the NDJSON parse and the validation) that release the GIL; folding is many short NumPy
and Polars calls on the caller's thread. Side by side they use both cores. Only the
decoding moves: folding, producing and committing stay on the caller's thread, in batch
order.

A whole core per thread does not work the same way: a thread folding while another
runs kafka-python's pure-Python fetch loses its time to GIL handoffs (docs/ingest.md).
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable, Iterator
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


class DecodeAhead:
    """Batches decoded one ahead: while the caller folds a batch, or polls for more, the
    next one decodes on `pool`'s thread.

    The caller must `drain` before it checkpoints or gives up partitions, and `discard`
    the partitions it loses, so a batch decoded before a rebalance is never folded after
    it.
    """

    def __init__(self, pool: Executor) -> None:
        self._pool = pool
        self._pending: tuple[int, Future[DecodedMessages]] | None = None

    def push(
        self, batches: Iterable[tuple[int, list[ConsumerRecord]]]
    ) -> Iterator[DecodedMessages]:
        """Queue (partition, messages) batches; yields every batch queued before the last
        one, in order. The last one stays pending until the next `push` or `drain`."""
        for partition, messages in batches:
            values = [m.value or b"" for m in messages]
            upcoming = self._pool.submit(_decode, partition, messages, values)
            yield from self.drain()
            self._pending = (partition, upcoming)

    def drain(self) -> Iterator[DecodedMessages]:
        """The pending batch, if any."""
        if self._pending is not None:
            _, future = self._pending
            self._pending = None
            yield future.result()

    def discard(self, partitions: Collection[int]) -> None:
        """Drop the pending batch if it is of one of `partitions`."""
        if self._pending is not None and self._pending[0] in partitions:
            self._pending[1].cancel()
            self._pending = None
