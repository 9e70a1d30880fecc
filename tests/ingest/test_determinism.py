"""Features are a function of the events and the settings only: not of how the lines were
packed into messages, how the messages were cut into polls, or when a partition sat idle.

Realistic streams (simulated lines with their late events, retries and malformed lines)
are packed into message values of random sizes, split into polls at random, with idle
spells between polls in which the watermark follows a clock running ahead of the events;
the core must publish what one batch of the same lines gives (the last row published per
product and tick), accept the same events and reject the same lines for the same reasons.
"""

from __future__ import annotations

import functools
import random
from collections import Counter
from dataclasses import dataclass

import orjson
import polars as pl
import pytest
from _streams import pack, retimed, route, simulated_lines
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.ingest.config import DAY_MS, HOUR_MS, MINUTE_MS, WindowConfig
from services.ingest.processor import PartitionProcessor
from shared.schema import Lines

PARTITIONS = 3
KEYS = ["partition", "product_id", "tick_ms"]


@dataclass
class Output:
    features: pl.DataFrame  # the last row published per product and tick, sorted by KEYS
    accepted: int
    duplicates: int
    rejected: Counter[tuple[bytes, str]]  # (line, reason)


def latest(frames: list[pl.DataFrame]) -> pl.DataFrame:
    table = pl.concat(frames)
    return table.unique(KEYS, keep="last", maintain_order=True).sort(KEYS)


def one_batch(lines: dict[int, list[bytes]], config: WindowConfig) -> Output:
    frames, out = [], Output(pl.DataFrame(), 0, 0, Counter())
    for partition, mine in lines.items():
        result = PartitionProcessor(partition, config).submit(mine, now_ms=NOW_MS)
        frames += result.features
        out.accepted += result.accepted
        out.duplicates += result.duplicates
        out.rejected.update(
            (mine[i], r) for i, r in result.rejected.select("line_no", "reason").rows()
        )
    out.features = latest(frames)
    return out


def in_polls(
    lines: dict[int, list[bytes]], config: WindowConfig, rng: random.Random, idle: bool
) -> Output:
    """Lines packed into values, values cut into polls; idle spells between polls (if
    `idle`) move a partition's wall-clock watermark up to a day past its events."""
    frames, out = [], Output(pl.DataFrame(), 0, 0, Counter())
    for partition, mine in lines.items():
        processor = PartitionProcessor(partition, config)
        values = pack(mine, rng)
        start = 0
        while start < len(values):
            end = start + rng.choice([1, 3, rng.randint(1, 400), len(values)])
            polled, _ = Lines.of(values[start:end])
            result = processor.submit(polled, now_ms=NOW_MS)
            frames += result.features
            out.accepted += result.accepted
            out.duplicates += result.duplicates
            out.rejected.update(
                (polled[i], r) for i, r in result.rejected.select("line_no", "reason").rows()
            )
            if idle and rng.random() < 0.3:
                ahead_ms = rng.choice([MINUTE_MS, 20 * MINUTE_MS, 3 * HOUR_MS, DAY_MS])
                frames += processor.advance_to(processor.watermark_ms + ahead_ms)
            start = end
    out.features = latest(frames)
    return out


@functools.cache
def stream(name: str) -> tuple[dict[int, list[bytes]], WindowConfig, Output]:
    """A stream's lines per partition, its settings and what one batch of it gives."""
    lines = simulated_lines(10_000)  # five simulated hours
    config = WindowConfig()
    if name == "stretched":
        # Sixty times slower, hourly ticks: twelve days, so some products come back after
        # more than the retention, and every late event is far later.
        start = 1_762_534_800_000
        lines = retimed(lines, lambda ms: start + (ms - start) * 60)
        config = WindowConfig(tick_ms=HOUR_MS)
    routed = route(lines, PARTITIONS)
    return routed, config, one_batch(routed, config)


def assert_same(got: Output, want: Output) -> None:
    assert (got.accepted, got.duplicates) == (want.accepted, want.duplicates)
    assert got.rejected == want.rejected
    # Idle spells may publish ticks the events never reach; every other row is the batch's.
    last_tick = want.features.group_by("partition").agg(last=pl.col("tick_ms").max())
    ahead = got.features.join(last_tick, on="partition").filter(pl.col("tick_ms") > pl.col("last"))
    reached = got.features.join(ahead.select(KEYS), on=KEYS, how="anti")
    counts = reached.select(*KEYS, "events_5m").join(
        want.features.select(*KEYS, "events_5m"), on=KEYS, how="full", suffix="_batch"
    )
    differ = counts.filter(pl.col("events_5m").ne_missing(pl.col("events_5m_batch")))
    assert differ.height == 0, f"event counts differ:\n{differ}"
    assert reached.equals(want.features)


@pytest.mark.slow
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(["as simulated", "stretched"]),
    idle=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_any_packing_polls_and_idle_spells_give_the_features_of_one_batch(name, idle, seed) -> None:
    lines, config, want = stream(name)
    assert want.duplicates > 0 and want.rejected and want.features.height > 1_000
    # One seed draws the whole packing: an example is replayed by its seed.
    assert_same(in_polls(lines, config, random.Random(seed), idle), want)


def event(i: int, ts_ms: int, product: str, **extra: object) -> bytes:
    return orjson.dumps(
        {
            "event_id": f"e{i}",
            "ts": ts_ms,
            "platform": "tiktok",
            "product_id": product,
            "action": "view",
            **extra,
        }
    )


T0 = 1_772_409_600_000
NOW_MS = 1_800_000_000_000  # the ingest clock: after every event of these tests


def test_a_product_back_after_the_retention_starts_afresh_inside_one_batch() -> None:
    """As if pruned at the tick before its return: no old category, first seen anew."""
    lines = [event(0, T0, "p", category="old")]
    for hour in range(1, 9 * 24):  # another product keeps the watermark moving
        lines.append(event(hour, T0 + hour * HOUR_MS, "q"))
    back_ms = T0 + (8 * 24 + 6) * HOUR_MS + 1
    lines.append(event(-1, back_ms, "p"))
    lines.sort(key=lambda line: orjson.loads(line)["ts"])

    def rows_of_p(cuts: list[int]) -> pl.DataFrame:
        processor, frames = PartitionProcessor(0), []
        for a, b in zip([0, *cuts], [*cuts, len(lines)], strict=True):
            frames += processor.submit(lines[a:b], now_ms=NOW_MS).features
        return pl.concat(frames).filter(pl.col("product_id") == "p")

    whole = rows_of_p([])
    # Its first day: the tick after its event, then the whole hours after the event left
    # its 5 min, 1 h and 6 h windows (it stays idle).
    first_day = whole.filter(pl.col("tick_ms") <= T0 + DAY_MS)["tick_ms"].to_list()
    assert first_day == [T0 + 5 * 60_000, T0 + HOUR_MS, T0 + 2 * HOUR_MS, T0 + 7 * HOUR_MS]
    # Cut after its first event, the batch holding its first day also holds its return.
    for cuts in ([1], [100], list(range(1, len(lines)))):
        assert whole.equals(rows_of_p(cuts)), cuts
    back = whole.filter(pl.col("tick_ms") > back_ms)
    assert back.height > 0 and back["category"].is_null().all()
    assert back["hours_since_first_seen"].max() < 24


def test_idle_ticks_leave_lateness_to_the_events() -> None:
    """Ticks published while idle do not make an event late that a replay accepts, and
    they fire again with it: the last row per product and tick is the replay's."""
    before = [event(i, T0 + i * MINUTE_MS, f"p{i % 3}", region="ID-JT") for i in range(60)]
    # Arrives after an idle spell, stamped up to 8 minutes behind the last event before it.
    after = [event(100 + i, T0 + (52 + i) * MINUTE_MS, f"p{i % 4}") for i in range(60)]
    replay = PartitionProcessor(0)
    want = latest(replay.submit(before + after, now_ms=NOW_MS).features)

    live = PartitionProcessor(0)
    frames = live.submit(before, now_ms=NOW_MS).features
    idle = live.advance_to(T0 + 3 * HOUR_MS)
    assert idle and all(f["tick_ms"][0] > live.watermark_ms for f in idle)
    assert live.advance_to(T0 + 3 * HOUR_MS) == []  # each idle tick is published once
    result = live.submit(after, now_ms=NOW_MS)
    assert result.rejected.height == 0 and result.accepted == len(after)
    got = latest(frames + idle + result.features)
    assert got.filter(pl.col("tick_ms") <= want["tick_ms"].max()).equals(want)
    # Rows of the idle ticks the events did not reach yet stay as they were published.
    assert got.filter(pl.col("tick_ms") > want["tick_ms"].max()).height > 0


def test_idle_ticks_equal_the_ticks_the_events_would_fire() -> None:
    """With no more events, an idle tick's rows are those a later event would have fired."""
    lines = [event(i, T0 + i * MINUTE_MS, f"p{i % 5}", region="ID-JK") for i in range(300)]
    idle = PartitionProcessor(0)
    idle.submit(lines, now_ms=NOW_MS)
    ahead = latest(idle.advance_to(T0 + DAY_MS))
    fired = PartitionProcessor(0)
    rows = fired.submit(
        [*lines, event(-1, T0 + DAY_MS + 10 * MINUTE_MS, "other")], now_ms=NOW_MS
    ).features
    reference = latest(rows).filter(pl.col("tick_ms").is_in(ahead["tick_ms"].unique().implode()))
    assert ahead.drop("watermark_ms").equals(reference.drop("watermark_ms"))
