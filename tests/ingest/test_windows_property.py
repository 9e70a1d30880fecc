"""Windows built incrementally, in random batches and partitions, equal a direct computation,
and rows are emitted exactly for the products whose windows gained an event since the
previous tick, plus at each whole hour every active product whose windows lost an event
during the hour.

The reference below recomputes every feature from the full list of accepted events with
plain Python, independently of the rings, sparse frames and chunking of the core.
"""

from __future__ import annotations

import itertools
import math
import random
from collections import Counter

import orjson
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.ingest.config import DAY_MS, HOUR_MS, MINUTE_MS, WindowConfig
from services.ingest.processor import PartitionProcessor
from shared.schema import ACTIONS, PLATFORMS

CONFIG = WindowConfig()
MAX_TICKS = 25
MAX_SPAN_MS = 2 * DAY_MS
START = 1_772_409_600_000 + 37 * MINUTE_MS  # not aligned to an hour on purpose
NOW = START + MAX_SPAN_MS  # the ingest clock: every event is within the future margin
PRODUCTS = ["p0", "p1", "p2", "p3"]
REGIONS = ["ID-JT", "ID-JK", "ID-BA"]
WINDOWS = {"5m": 5 * MINUTE_MS, "1h": HOUR_MS, "6h": 6 * HOUR_MS, "24h": DAY_MS, "7d": 7 * DAY_MS}

event = st.tuples(
    # time step: mostly minutes, sometimes hours, so windows of every length fill and drain,
    # and sometimes more than a day, so ticks with nothing in any 24 h window are skipped
    st.one_of(
        st.integers(0, 40 * MINUTE_MS),
        st.sampled_from([2 * HOUR_MS, 9 * HOUR_MS + 7, 26 * HOUR_MS + 11]),
    ),
    # how far behind the clock the event is stamped (beyond 10 minutes it may be late)
    st.one_of(st.just(0), st.integers(0, 25 * MINUTE_MS)),
    st.sampled_from(PRODUCTS),
    st.integers(0, len(ACTIONS) - 1),
    st.integers(1, 5),
    st.one_of(st.none(), st.integers(0, 6)),
    st.one_of(st.none(), st.sampled_from(REGIONS)),
    st.sampled_from(PLATFORMS[:3]),
    st.booleans(),  # repeat a recent event id
)


def build(draws: list[tuple]) -> list[dict]:
    clock, out = START, []
    for i, (step, behind, product, action, count, creator, region, platform, repeat) in enumerate(
        draws
    ):
        clock += step
        if clock - START > MAX_SPAN_MS:
            break
        if repeat and out:
            out.append(dict(out[-1]))
            continue
        ev = {
            "event_id": f"e{i}",
            "ts": clock - behind,
            "platform": platform,
            "product_id": product,
            "action": ACTIONS[action],
            "count": count,
        }
        if creator is not None:
            ev["creator_id"] = f"c{creator}"
        if region is not None:
            ev["region"] = region
        out.append(ev)
    return out


def ceil_to(ms: int, unit: int) -> int:
    return -(-ms // unit) * unit


def window_start(tick: int, name: str) -> int:
    start = tick - WINDOWS[name]
    return (
        ceil_to(start, HOUR_MS)
        if name in ("6h", "24h")
        else (ceil_to(start, DAY_MS) if name == "7d" else start)
    )


def reference(events: list[dict], sample: random.Random) -> dict[tuple[str, int], dict]:
    """Accept/late/dedup event by event, then compute rows from scratch at a sample of ticks
    (at most MAX_TICKS, drawn by hypothesis) to keep the plain-Python reference quick."""
    lateness, tick_ms = CONFIG.allowed_lateness_ms, CONFIG.tick_ms
    max_ts, wm, accepted, seen, ticks = None, None, [], set(), []
    # The first tick that counts each accepted event: the first to fire after the event is
    # folded (ticks up to its own watermark fire before it) and to end after its bucket.
    first_counted: set[tuple[str, int]] = set()
    for ev in events:
        if wm is not None and ev["ts"] < wm:
            continue
        max_ts = ev["ts"] if max_ts is None else max(max_ts, ev["ts"])
        new_wm = max_ts - lateness if wm is None else max(wm, max_ts - lateness)
        if ev["event_id"] not in seen:
            seen.add(ev["event_id"])
            accepted.append(ev)
            fired_after = (new_wm // tick_ms + 1) * tick_ms
            bucket_end = (ev["ts"] // tick_ms + 1) * tick_ms
            first_counted.add((ev["product_id"], max(fired_after, bucket_end)))
        if wm is None:
            ticks.append((new_wm // tick_ms + 1) * tick_ms)
        wm = new_wm
    if not ticks:
        return {}
    rows = {}
    fired = range(ticks[0], wm + 1, tick_ms)
    for tick in sorted(sample.sample(fired, min(MAX_TICKS, len(fired)))):
        before = [e for e in accepted if e["ts"] < tick]
        for product in PRODUCTS:
            mine = [e for e in before if e["product_id"] == product]
            day = [e for e in mine if e["ts"] >= window_start(tick, "24h")]
            # A row when a new event is counted, and at each whole hour for every active
            # product with an event that left one of its windows during the hour.
            slid = tick % HOUR_MS == 0 and any(
                window_start(tick - HOUR_MS, name) <= e["ts"] < window_start(tick, name)
                for e in mine
                for name in WINDOWS
            )
            if not day or ((product, tick) not in first_counted and not slid):
                continue
            row: dict = {}
            for name in WINDOWS:
                inside = [e for e in mine if e["ts"] >= window_start(tick, name)]
                for action in ACTIONS:
                    row[f"{action}_{name}"] = sum(
                        e["count"] for e in inside if e["action"] == action
                    )
            since_6h = window_start(tick, "6h")
            first_by_creator: dict[str, int] = {}
            for e in day:
                if "creator_id" in e:
                    c = e["creator_id"]
                    first_by_creator[c] = min(first_by_creator.get(c, e["ts"]), e["ts"])
            recent = {e["creator_id"] for e in day if "creator_id" in e and e["ts"] >= since_6h}
            row["creators_24h"] = len(first_by_creator)
            row["creators_6h"] = len(recent)
            new = sum(1 for c in recent if first_by_creator[c] >= since_6h)
            row["new_creator_share_6h"] = new / len(recent) if recent else 0.0
            regions = Counter()
            regions_6h = Counter()
            for e in day:
                if "region" in e:
                    regions[e["region"]] += e["count"]
                    if e["ts"] >= since_6h:
                        regions_6h[e["region"]] += e["count"]
            row["regions_24h"] = len(regions)
            total = sum(regions.values())
            row["region_entropy_24h"] = (
                -sum(n / total * math.log2(n / total) for n in regions.values()) if total else 0.0
            )
            row["top_regions"] = sorted(regions, key=lambda r: (-regions_6h[r], -regions[r], r))[:5]
            row["platforms"] = sorted({e["platform"] for e in day})
            row["platforms_24h"] = len(row["platforms"])
            row["hours_since_first_seen"] = (tick - min(e["ts"] for e in mine)) / HOUR_MS
            rows[(product, tick)] = row
    return rows


def incremental(
    events: list[dict], cuts: list[int], partition_of: dict[str, int]
) -> dict[tuple[str, int], dict]:
    processors = {p: PartitionProcessor(p, CONFIG) for p in set(partition_of.values())}
    frames = []
    for p, processor in processors.items():
        lines = [orjson.dumps(e) for e in events if partition_of[e["product_id"]] == p]
        bounds = sorted({0, len(lines), *(c % (len(lines) + 1) for c in cuts)})
        for a, b in itertools.pairwise(bounds):
            frames += processor.submit(lines[a:b], now_ms=NOW).features
    if not frames:
        return {}
    table = pl.concat(frames)
    assert table.select(pl.struct("product_id", "tick_ms").is_unique().all()).item()
    return {(r["product_id"], r["tick_ms"]): r for r in table.iter_rows(named=True)}


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    draws=st.lists(event, min_size=20, max_size=80),
    cuts=st.lists(st.integers(0, 10_000), max_size=8),
    partitions=st.lists(st.integers(0, 2), min_size=len(PRODUCTS), max_size=len(PRODUCTS)),
    sample=st.randoms(use_true_random=False),
)
def test_incremental_windows_equal_direct_computation(draws, cuts, partitions, sample) -> None:
    events = build(draws)
    partition_of = dict(zip(PRODUCTS, partitions, strict=True))
    expected: dict = {}
    sampled: set[tuple[int, int]] = set()  # (partition, tick) pairs the reference computed
    for p in set(partitions):
        rows = reference([e for e in events if partition_of[e["product_id"]] == p], sample)
        expected |= rows
        sampled |= {(p, tick) for _, tick in rows}
    got = incremental(events, cuts, partition_of)
    assert {k for k in got if (partition_of[k[0]], k[1]) in sampled} == set(expected)
    for key, want in expected.items():
        row = got[key]
        for column, value in want.items():
            if isinstance(value, float):
                assert math.isclose(row[column], value, abs_tol=1e-9), (key, column)
            else:
                assert row[column] == value, (key, column, row[column], value)
