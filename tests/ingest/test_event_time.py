"""Untrusted time: no event's clock can stall a partition or push good events out as late.

An event stamped beyond the future margin of the ingest clock is rejected as `future`
without touching the watermark, dedup or windows. A long jump of the watermark (an ancient
first event, a quiet stretch) passes its ticks without firing those that cannot publish a
row, with the output of firing every one of them.
"""

from __future__ import annotations

import itertools
import random
import time

import numpy as np
import orjson
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.ingest.config import DAY_MS, HOUR_MS, MINUTE_MS, WindowConfig
from services.ingest.dedup import id_hashes
from services.ingest.processor import IngestResult, PartitionProcessor
from services.pipeline import LocalPipeline
from shared.schema import MAX_TS_MS, MIN_TS_MS

NOW_MS = 1_780_000_000_000  # the ingest clock of these tests (2026-05-28)
CONFIG = WindowConfig()
YEAR_2096_MS = 3_976_214_400_000


def event(i: int, ts_ms: int, product: str = "p0", **fields: object) -> bytes:
    base = {"event_id": f"e{i}", "ts": ts_ms, "platform": "tiktok", "product_id": product}
    return orjson.dumps({**base, "action": "view", **fields})


def good_stream(n: int, start_ms: int, step_ms: int = MINUTE_MS) -> list[bytes]:
    """`n` views of three products, one a minute, in order."""
    return [event(i, start_ms + i * step_ms, f"p{i % 3}") for i in range(n)]


def features(results: list[IngestResult]) -> pl.DataFrame:
    frames = [f for r in results for f in r.features if f.height]
    return pl.concat(frames) if frames else pl.DataFrame()


def test_event_from_2096_is_rejected_and_changes_nothing() -> None:
    """The issue's poison pill: it used to pass ~7.5 million ticks in one batch."""
    good = good_stream(120, NOW_MS - 3 * HOUR_MS)
    pill = event(999, YEAR_2096_MS)
    assert MIN_TS_MS <= YEAR_2096_MS < MAX_TS_MS  # valid as a timestamp, wrong as a time
    poisoned, clean = PartitionProcessor(0), PartitionProcessor(0)
    with_pill = poisoned.submit([*good[:60], pill, *good[60:]], now_ms=NOW_MS)
    without = clean.submit(good, now_ms=NOW_MS)
    assert len(with_pill.features) == len(without.features) < 30
    assert with_pill.rejected.to_dicts() == [
        {
            "line_no": 60,
            "reason": "future",
            "detail": "ts more than 900000 ms after the ingest clock (future margin)",
        }
    ]
    assert with_pill.accepted == without.accepted == 120
    assert features([with_pill]).equals(features([without]))
    assert poisoned.watermark_ms == clean.watermark_ms < NOW_MS
    assert poisoned.max_ts_ms == clean.max_ts_ms


def test_seven_days_ahead_then_good_events_are_all_accepted() -> None:
    """A week-ahead clock used to cost 2,016 ticks and send every good event after it to
    the DLQ as late; the events behind it within the lateness still count."""
    processor = PartitionProcessor(0)
    good = good_stream(60, NOW_MS - HOUR_MS)
    ahead = event(999, NOW_MS + 7 * DAY_MS)
    first = processor.submit([*good[:30], ahead], now_ms=NOW_MS)
    # After the pill: the rest of the stream, and one event 9 minutes behind the newest.
    straggler = event(1000, NOW_MS - HOUR_MS + 50 * MINUTE_MS, "p1")
    rest = processor.submit([*good[30:], straggler], now_ms=NOW_MS)
    assert first.rejected["reason"].to_list() == ["future"]
    assert rest.rejected.height == 0
    assert first.accepted + rest.accepted == 61
    assert processor.watermark_ms == NOW_MS - HOUR_MS + 59 * MINUTE_MS - CONFIG.allowed_lateness_ms


def test_margin_is_a_setting_and_its_edge_is_accepted() -> None:
    processor = PartitionProcessor(0, WindowConfig(future_margin_ms=HOUR_MS))
    result = processor.submit(
        [event(0, NOW_MS + HOUR_MS), event(1, NOW_MS + HOUR_MS + 1)], now_ms=NOW_MS
    )
    assert result.accepted == 1
    assert result.rejected.to_dicts()[0]["line_no"] == 1
    assert "3600000 ms" in result.rejected["detail"][0]


def test_a_future_event_leaves_no_trace_in_dedup() -> None:
    """Once the clock catches up, the same event id with a sane time is a first sighting."""
    processor = PartitionProcessor(0)
    processor.submit([event(7, NOW_MS + DAY_MS)], now_ms=NOW_MS)
    assert processor.next_tick_ms is None  # no event time yet: the partition never started
    later = processor.submit([event(7, NOW_MS + HOUR_MS)], now_ms=NOW_MS + HOUR_MS)
    assert (later.accepted, later.duplicates) == (1, 0)


def test_ancient_first_event_then_current_events_is_quick() -> None:
    """A 2000 event opening a partition, then current events: 26 years of ticks (2.8
    million) used to fire one by one; only those within a day of an event can publish."""
    processor = PartitionProcessor(0)
    ancient = event(0, MIN_TS_MS + 3 * HOUR_MS, "old")
    current = good_stream(120, NOW_MS - 2 * HOUR_MS)
    started_s = time.process_time()
    results = [processor.submit([ancient], now_ms=NOW_MS)]
    results += [processor.submit(current[i : i + 40], now_ms=NOW_MS) for i in (0, 40, 80)]
    cpu_s = time.process_time() - started_s
    fired = sum(len(r.features) for r in results)
    assert fired <= DAY_MS // CONFIG.tick_ms + 2 * HOUR_MS // CONFIG.tick_ms, fired
    assert cpu_s < 1, cpu_s
    rows = features(results)
    old = rows.filter(pl.col("product_id") == "old")
    # The old product publishes at the ticks whose 24 h window holds its event, then never.
    assert 0 < old.height <= DAY_MS // CONFIG.tick_ms
    assert old["tick_ms"].max() <= MIN_TS_MS + 3 * HOUR_MS + DAY_MS
    assert sum(r.accepted for r in results) == 1 + len(current)
    # Every tick of the current stretch fires, for each product active at it.
    recent = rows.filter(pl.col("tick_ms") > NOW_MS - DAY_MS)
    assert set(recent["product_id"]) == {"p0", "p1", "p2"}
    tick = CONFIG.tick_ms
    first, last = (NOW_MS - 2 * HOUR_MS) // tick + 1, processor.watermark_ms // tick
    assert recent["tick_ms"].n_unique() == last - first + 1
    assert processor.catalog.active_products == 3  # the old product was pruned


def test_idle_advance_over_years_is_quick() -> None:
    processor = PartitionProcessor(0)
    processor.submit([event(0, MIN_TS_MS + HOUR_MS)], now_ms=NOW_MS)
    started_s = time.process_time()
    frames = processor.advance_to(NOW_MS - CONFIG.allowed_lateness_ms)
    assert time.process_time() - started_s < 1
    assert len(frames) <= DAY_MS // CONFIG.tick_ms + 3  # those within a day of the event
    assert sum(f.height for f in frames) > 0
    # Idle ticks are provisional: the events' watermark stays, and none is published twice.
    assert processor.watermark_ms == MIN_TS_MS + HOUR_MS - CONFIG.allowed_lateness_ms
    assert processor.advance_to(NOW_MS - CONFIG.allowed_lateness_ms) == []


def test_pipeline_counts_future_rejects() -> None:
    """Replay and the demo run the same check: the clock comes from the pipeline's caller."""
    scored: list[pl.DataFrame] = []

    class NoScorer:
        def score(self, rows: pl.DataFrame) -> pl.DataFrame:
            return rows

    pipeline = LocalPipeline(NoScorer(), scored.append, partitions=2)  # type: ignore[arg-type]
    pipeline.submit([*good_stream(30, NOW_MS - HOUR_MS), event(99, NOW_MS + DAY_MS)], NOW_MS)
    assert pipeline.stats.rejected == {"future": 1}
    assert pipeline.stats.accepted == 30


# 15-minute ticks: a third of the ticks for the reference to fire across gaps of days.
GAPPY = WindowConfig(tick_ms=15 * MINUTE_MS)


class FiringEveryTick(PartitionProcessor):
    """The reference: every tick the watermark passes fires, one by one, with its pruning
    and its dedup rotation, as before ticks could be skipped."""

    def _ticks_to_fire(self, accepted_ts: np.ndarray, first_ms: int, last_ms: int) -> np.ndarray:
        return np.arange(first_ms, last_ms + 1, self.config.tick_ms, dtype=np.int64)

    def _pass(self, first_ms: int, last_ms: int, firing: np.ndarray) -> list:
        fired = []
        for tick in range(first_ms, last_ms + 1, self.config.tick_ms):
            fired.append(self._fire(tick))
            self.catalog.prune(tick - self.config.retention_ms)
            self.next_tick_ms = tick + self.config.tick_ms
        return fired

    def _dedup(self, event_ids, on_time, bounds, since, until) -> np.ndarray:  # type: ignore[no-untyped-def]
        hashes, grid = id_hashes(event_ids), self.config.tick_ms
        fresh = np.zeros(len(hashes), dtype=bool)
        start = 0
        for cut, first, last in zip(bounds.tolist(), since.tolist(), until.tolist(), strict=True):
            for tick in range(first, last + 1, grid):
                if self.dedup.rotations(tick, tick, grid):
                    part = np.flatnonzero(on_time[start:cut]) + start
                    fresh[part] = self.dedup.first_seen(hashes[part])
                    start = cut
                self.dedup.advance(tick, tick, grid)
        part = np.flatnonzero(on_time[start:]) + start
        fresh[part] = self.dedup.first_seen(hashes[part])
        return fresh


# (gap before the event, product, repeat an earlier event id, idle advance before it)
gappy_event = st.tuples(
    st.one_of(
        st.integers(0, 20 * MINUTE_MS),
        st.sampled_from([26 * HOUR_MS + 7, 2 * DAY_MS + 13 * MINUTE_MS, 8 * DAY_MS]),
    ),
    st.sampled_from(["a", "b", "c"]),
    st.booleans(),
    st.booleans(),
)


@pytest.mark.slow
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    draws=st.lists(gappy_event, min_size=5, max_size=30),
    cuts=st.lists(st.integers(0, 1000), max_size=5),
    seed=st.integers(0, 2**16),
)
def test_skipping_ticks_gives_the_output_of_firing_them_all(draws, cuts, seed) -> None:
    """Streams with gaps of days (beyond the 24 h window, the dedup horizon and the
    retention), old ids repeated across them, idle advances, random batch cuts: the same
    rows, counts and rejects as firing every tick, and the same state afterwards."""
    rng = random.Random(seed)
    clock = NOW_MS - 20 * DAY_MS
    lines, advances = [], {}
    for i, (gap, product, repeat, idle) in enumerate(draws):
        clock += gap
        if idle and gap > HOUR_MS:
            advances[len(lines)] = clock - rng.randrange(2 * HOUR_MS, gap)
        behind = rng.choice([0, 0, 3 * MINUTE_MS, 15 * MINUTE_MS])
        event_id = rng.randrange(i) if repeat and i else i
        region = rng.choice([None, "ID-JT", "ID-JK"])
        fields = {"creator_id": f"c{rng.randrange(4)}"} | ({"region": region} if region else {})
        lines.append(event(event_id, clock - behind, product, **fields))
    stops = sorted({0, len(lines), *(c % (len(lines) + 1) for c in cuts), *advances})
    skipping, firing = PartitionProcessor(0, GAPPY), FiringEveryTick(0, GAPPY)
    outputs = []
    for processor in (skipping, firing):
        results, frames = [], []
        for a, b in itertools.pairwise(stops):
            if a in advances:
                frames += processor.advance_to(advances[a])
            results.append(processor.submit(lines[a:b], now_ms=NOW_MS))
        frames += processor.advance_to(clock + 3 * DAY_MS)
        rows = [f for f in frames if f.height] + [
            f for r in results for f in r.features if f.height
        ]
        outputs.append(
            (
                pl.concat(rows).sort("tick_ms", "product_id") if rows else None,
                [(r.accepted, r.duplicates, r.rejected.to_dicts()) for r in results],
            )
        )
    (rows_skip, counts_skip), (rows_all, counts_all) = outputs
    assert counts_skip == counts_all
    assert (rows_skip is None) == (rows_all is None)
    if rows_skip is not None:
        assert rows_skip.equals(rows_all)
    for name in ("watermark_ms", "max_ts_ms", "next_tick_ms"):
        assert getattr(skipping, name) == getattr(firing, name), name
    assert skipping.dedup.generation_start_ms == firing.dedup.generation_start_ms
    assert skipping.dedup.nbytes == firing.dedup.nbytes
    assert skipping.catalog.slot_of.keys() == firing.catalog.slot_of.keys()


def test_a_product_returning_after_the_retention_in_one_batch_starts_afresh() -> None:
    """Any split, same output: with one event per batch the product is pruned at the tick
    a retention after its last event and `hours_since_first_seen` restarts."""
    start = NOW_MS - 20 * DAY_MS
    lines = [
        event(0, start, "a"),
        event(1, start + 3 * DAY_MS, "b"),
        event(2, start + 10 * DAY_MS, "b"),
        event(3, start + 10 * DAY_MS + 1, "a"),
        event(4, start + 10 * DAY_MS + 2 * HOUR_MS, "c"),
    ]
    outputs = []
    for cuts in ([0, 5], [0, 1, 2, 3, 4, 5]):
        processor = PartitionProcessor(0)
        results = [processor.submit(lines[a:b], now_ms=NOW_MS) for a, b in itertools.pairwise(cuts)]
        outputs.append(features(results).sort("tick_ms", "product_id"))
    assert outputs[0].equals(outputs[1])
