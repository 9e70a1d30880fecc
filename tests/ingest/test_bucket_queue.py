"""Waiting rows cut at ticks give what re-sorting everything still waiting at each tick
(stably, by bucket) gave: the same rows, in the same order."""

from __future__ import annotations

import numpy as np

from services.ingest.bucket_queue import BucketQueue

TICK_MS = 300_000


def test_cuts_take_the_rows_a_stable_sort_of_all_waiting_rows_gives() -> None:
    rng = np.random.default_rng(5)
    queue = BucketQueue(np.empty(0, np.int64), np.empty(0, np.int64))
    waiting: list[tuple[np.ndarray, np.ndarray]] = []  # the re-sorting reference
    row = 0
    for tick in range(1, 40):
        for _ in range(rng.integers(0, 3)):  # batches between ticks, buckets out of order
            size = int(rng.integers(1, 30))
            bucket = (tick - 1 + rng.integers(-1, 4, size)) * TICK_MS
            ids = np.arange(row, row + size)
            row += size
            queue.add(bucket, ids)
            waiting.append((bucket, ids))
        until_ms = tick * TICK_MS
        assert queue.between(until_ms - TICK_MS, until_ms)[1].tolist() == sorted(
            i for b, ids in waiting for i in ids[(b >= until_ms - TICK_MS) & (b < until_ms)]
        )
        bucket = np.concatenate([b for b, _ in waiting]) if waiting else np.empty(0, np.int64)
        ids = np.concatenate([i for _, i in waiting]) if waiting else np.empty(0, np.int64)
        order = np.argsort(bucket, kind="stable")
        bucket, ids = bucket[order], ids[order]
        cut = int(np.searchsorted(bucket, until_ms))
        waiting = [(bucket[cut:], ids[cut:])]
        taken_bucket, taken_ids = queue.take_before(until_ms)
        assert taken_bucket.tolist() == bucket[:cut].tolist()
        assert taken_ids.tolist() == ids[:cut].tolist()
        assert len(queue) == len(bucket) - cut
    assert row > 500  # the stream exercised the queue


def test_rows_given_out_of_order_are_sorted_stably() -> None:
    queue = BucketQueue(np.array([3, 1, 3, 1, 2]), np.array([10, 11, 12, 13, 14]))
    assert queue.bucket_ms.tolist() == [1, 1, 2, 3, 3]
    assert queue.columns[0].tolist() == [11, 13, 14, 10, 12]
