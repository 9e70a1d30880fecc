"""Counters to events: any batching, repetition, crash or restart gives the same events.

The reference is a plain Python walk over the whole snapshot sequence, written from the
rules in the issue, independent of the columnar core.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.sources import baseline_store
from services.sources.counters import CounterBaselines, snapshot_events
from services.sources.snapshots import SNAPSHOT_SCHEMA

START_MS = 1_780_000_000_000
ITEMS = [("yt", "a"), ("yt", "b"), ("tt", "a")]  # one item id under two sources
ACTIONS = ("view", "like", "save")

snapshot = st.tuples(
    st.sampled_from(ITEMS),
    st.integers(-3, 12),  # time step; <= 0 makes repeats and older snapshots
    st.tuples(*[st.one_of(st.none(), st.integers(0, 50)) for _ in ACTIONS]),
)
# What happens after a batch: nothing, a restart through the file, a crash that loses the
# batch's baselines (the batch is then sent again), or an earlier batch sent once more.
after = st.sampled_from(["go", "restart", "crash", "repeat"])


def frame(draws: list[tuple]) -> pl.DataFrame:
    clock, rows = START_MS, []
    for (source, item), step, values in draws:
        clock += step * 60_000
        row = {"source": source, "item_id": item, "observed_ms": clock, "platform": "youtube"}
        rows.append(row | dict(zip(ACTIONS, values, strict=True)))
    return pl.DataFrame(rows, schema={k: SNAPSHOT_SCHEMA[k] for k in (*rows[0], *ACTIONS)})


def reference(snapshots: pl.DataFrame, backfill: bool) -> tuple[set[tuple], dict[str, int]]:
    """(product_id, action, ts, count) of every event, and the skip counts."""
    state: dict[tuple, tuple[int, int]] = {}
    events, counts = set(), {"corrections": 0, "repeats": 0, "baselines_set": 0}
    for row in snapshots.iter_rows(named=True):
        for action in ACTIONS:
            value = row[action]
            if value is None:
                continue
            key, ms = (row["source"], row["item_id"], action), row["observed_ms"]
            product = f"{row['source']}:{row['item_id']}"
            if key in state and ms <= state[key][0]:
                counts["repeats"] += 1
                continue
            if key not in state:
                counts["baselines_set"] += 1
                if backfill and value > 0:
                    events.add((product, action, ms, value))
            elif value > state[key][1]:
                events.add((product, action, ms, value - state[key][1]))
            elif value < state[key][1]:
                counts["corrections"] += 1
            state[key] = (ms, value)
    return events, counts


def as_set(events: pl.DataFrame) -> set[tuple]:
    return set(events.select("product_id", "action", "ts", "count").iter_rows())


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    draws=st.lists(snapshot, min_size=1, max_size=40),
    cuts=st.lists(st.integers(0, 40), max_size=6),
    afters=st.lists(after, min_size=8, max_size=8),
    backfill=st.booleans(),
)
def test_any_split_repetition_crash_or_restart_gives_the_same_events(
    tmp_path: Path, draws: list, cuts: list[int], afters: list[str], backfill: bool
) -> None:
    snapshots = frame(draws)
    expected, counts = reference(snapshots, backfill)

    whole = snapshot_events(snapshots, CounterBaselines.empty(), backfill)
    assert as_set(whole.events) == expected
    assert whole.events.height == len(expected)
    assert (whole.corrections, whole.repeats, whole.baselines_set) == (
        counts["corrections"],
        counts["repeats"],
        counts["baselines_set"],
    )

    bounds = sorted({0, snapshots.height, *(c for c in cuts if c < snapshots.height)})
    batches = [snapshots[lo:hi] for lo, hi in itertools.pairwise(bounds)]
    path = tmp_path / "baselines.parquet"
    path.unlink(missing_ok=True)
    baselines, seen = CounterBaselines.empty(), []
    for i, batch in enumerate(batches):
        result = snapshot_events(batch, baselines, backfill)
        seen.append(result.events)
        action = afters[i % len(afters)]
        if action == "crash":  # events went out, baselines were not saved: do it again
            result = snapshot_events(batch, baselines, backfill)
            seen.append(result.events)
        baselines = result.baselines
        if action == "restart":
            baseline_store.save(baselines, path)
            baselines = baseline_store.load(path)
        if action == "repeat":
            again = snapshot_events(batches[i // 2], baselines, backfill)
            assert again.events.height == 0
            baselines = again.baselines
    events = pl.concat(seen)
    # Ingest drops repeated ids: what survives is exactly the reference, and a repeated
    # id always carries the same event.
    assert as_set(events.unique("event_id")) == expected
    assert events.unique().height == events["event_id"].n_unique()
    assert baselines.frame.sort("source", "item_id", "action").equals(
        whole.baselines.frame.sort("source", "item_id", "action")
    )
