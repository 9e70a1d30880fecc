"""Views-only sources: a share of products is seen only through a cumulative view counter
polled daily or hourly, and the connectors' counter core makes their events. Every view
the sampler drew between a product's first and last poll arrives, once, in the counter
events; the first poll sends nothing; ids are the counter core's."""

from __future__ import annotations

import dataclasses

import numpy as np
import orjson
import polars as pl

from services.simulator import SCENARIOS, iter_event_lines, with_shapes
from services.simulator.episodes import build_plan
from services.simulator.platforms import VIEW
from services.simulator.sampling import HourSampler
from services.sources.snapshots import stable_ids

CFG = dataclasses.replace(
    SCENARIOS["small"],
    name="small-polled",
    n_products=30,
    days=4,
    share_daily_counter=0.3,
    share_hourly_counter=0.3,
    malformed_rate=0.0,  # (the other products' defects are tested elsewhere)
)
SEED = 7


def _parsed(line: bytes) -> object:
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:  # the run's deliberately malformed lines
        return None


def _events() -> pl.DataFrame:
    lines = [_parsed(line) for _, hour in iter_event_lines(CFG, SEED) for line in hour]
    return pl.DataFrame(
        [
            {k: e.get(k) for k in ("event_id", "ts", "product_id", "action", "count", "platform")}
            | {"creator_id": e.get("creator_id"), "region": e.get("region")}
            for e in lines
            if isinstance(e, dict) and isinstance(e.get("ts"), int)
        ],
        infer_schema_length=None,
    )


def test_polled_counters_deliver_every_view_once_through_the_counter_core() -> None:
    plan = build_plan(CFG, SEED)
    cat, products = plan.catalogue, plan.truth["products"]
    every_h = cat.poll_every_h
    assert (every_h == 24).sum() >= 5 and (every_h == 1).sum() >= 5
    for p, pid in enumerate(cat.product_id.tolist()):
        assert products[pid].get("counter") == {24: "daily", 1: "hourly", 0: None}[every_h[p]]

    events = _events()
    polled_ids = set(cat.product_id[every_h > 0].tolist())
    mine = events.filter(pl.col("product_id").is_in(polled_ids))
    assert (mine["action"] == "view").all() and (mine["count"] >= 1).all()
    assert mine["creator_id"].null_count() == mine.height == mine["region"].null_count()
    assert mine["event_id"].n_unique() == mine.height
    # The counter core's ids: a hash of (source, item, action, observed time).
    parts = mine.select(source="platform", item_id="product_id", action="action", observed_ms="ts")
    assert mine["event_id"].to_list() == stable_ids(parts).to_list()

    # Views the sampler drew per polled product and hour, against the counter events.
    sampler = HourSampler(plan)
    views = np.zeros((len(cat), plan.hours), dtype=np.int64)
    for h in range(plan.hours):
        ev = sampler.sample(h)
        counter = (ev.count > 0) & (ev.action == VIEW)
        np.add.at(views[:, h], ev.product[counter], ev.count[counter])
    hour_end_ms = plan.start_ms + (np.arange(plan.hours) + 1) * 3_600_000
    for p in np.flatnonzero(every_h).tolist():
        got = mine.filter(pl.col("product_id") == cat.product_id[p]).sort("ts")
        if every_h[p] == 1:
            polls = np.arange(plan.hours)
        else:
            polls = np.flatnonzero((np.arange(plan.hours) + 1) % 24 == cat.poll_hour[p])
        # One event per poll with new views, stamped just before the poll's hour ends.
        due = hour_end_ms[polls] - 1000
        assert set(got["ts"].to_list()) <= set(due.tolist())
        assert due[0] not in got["ts"].to_list()  # the first poll sets the baseline
        # Every view between the first and the last poll, once.
        drawn = views[p, polls[0] + 1 : polls[-1] + 1].sum()
        assert got["count"].sum() == drawn
        if every_h[p] == 24:
            assert got.height <= len(polls) - 1


def test_a_preset_without_polled_counters_has_none_and_shapes_apply_to_counters() -> None:
    plain = build_plan(dataclasses.replace(CFG, share_daily_counter=0, share_hourly_counter=0), 7)
    assert not plain.catalogue.poll_every_h.any()
    assert not any("counter" in p for p in plain.truth["products"].values())
    # The `counters` preset: every product polled, rises of the chosen shape families.
    plan = build_plan(with_shapes("counters", ("stepwise",)), 3)
    kinds = [p for p in plan.truth["products"].values() if p["kind"] == "organic_viral"]
    assert plan.catalogue.poll_every_h.all()
    assert {p["shape"] for p in kinds} == {"stepwise"}
    assert {p["counter"] for p in kinds} == {"daily", "hourly"}
