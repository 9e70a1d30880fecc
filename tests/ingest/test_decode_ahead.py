"""Decoding one batch ahead keeps batch order and hands over every batch it is given."""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor

import orjson
from kafka.consumer.fetcher import ConsumerRecord

from services.ingest.decode_ahead import DecodeAhead


def record(partition: int, offset: int, value: bytes | None) -> ConsumerRecord:
    return ConsumerRecord(
        "pantau.events", partition, -1, offset, 0, 0, None, value, [], None, -1, -1, -1
    )


def event(i: int) -> bytes:
    return orjson.dumps(
        {
            "event_id": f"e{i}",
            "ts": 1_772_409_600_000 + i,
            "platform": "tiktok",
            "product_id": f"p{i % 3}",
            "action": "view",
        }
    )


class CountingPool(ThreadPoolExecutor):
    """A real one-thread pool that remembers how many batches were handed to it."""

    def __init__(self) -> None:
        super().__init__(1, thread_name_prefix="pantau-decode")
        self.submitted = 0

    def submit(self, fn, /, *args, **kwargs) -> Future:  # type: ignore[no-untyped-def, override]
        self.submitted += 1
        return super().submit(fn, *args, **kwargs)


def test_batches_come_back_in_order_decoded_with_the_next_one_already_started() -> None:
    batches = [
        (2, [record(2, 10, event(0) + b"\n" + event(1)), record(2, 11, b"not json")]),
        (0, [record(0, 5, event(2)), record(0, 6, None)]),
        (1, [record(1, 7, event(3) + b"\n")]),
    ]
    handed: list[tuple[int, int]] = []
    with CountingPool() as pool:
        ahead = DecodeAhead(pool)
        for i, batch in enumerate(ahead.push(batches)):
            handed.append((batch.partition, pool.submitted))
            assert batch.messages is batches[i][1]
            assert threading.current_thread() is threading.main_thread()
        # The last batch keeps decoding while the caller polls again.
        assert handed == [(2, 2), (0, 3)]
        more = [(2, [record(2, 12, event(4))])]
        assert [b.partition for b in ahead.push(more)] == [1]
        assert [b.partition for b in ahead.drain()] == [2]
        assert list(ahead.drain()) == []
    with ThreadPoolExecutor(1) as pool:
        ahead = DecodeAhead(pool)
        first, second = list(ahead.push(batches))
        (third,) = list(ahead.drain())
    assert first.decoded.events["event_id"].to_list() == ["e0", "e1"]
    assert first.message_index.tolist() == [0, 0, 1]
    assert first.decoded.rejected.select("line_no", "reason").rows() == [(2, "malformed_json")]
    assert list(second.lines) == [event(2), b""]  # a message without a value is an empty line
    assert third.decoded.events["event_id"].to_list() == ["e3"]
    assert third.decoded.rejected.height == 0


def test_a_lost_partitions_pending_batch_is_discarded() -> None:
    with ThreadPoolExecutor(1) as pool:
        ahead = DecodeAhead(pool)
        assert list(ahead.push([(3, [record(3, 0, event(0))])])) == []
        ahead.discard({1, 2})
        assert [b.partition for b in ahead.drain()] == [3]
        assert list(ahead.push([(3, [record(3, 1, event(1))])])) == []
        ahead.discard({3})
        assert list(ahead.drain()) == []
