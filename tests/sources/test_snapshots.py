"""Snapshot validation and the rules of the counter core, case by case."""

from __future__ import annotations

from hashlib import blake2b

import polars as pl

from services.sources.counters import CounterBaselines, snapshot_events
from services.sources.snapshots import hashed_creator, stable_ids, validate

T0 = 1_780_000_000_000


def test_validate_names_the_first_fault_of_each_row() -> None:
    frame = pl.DataFrame(
        {
            "source": ["csv", "csv", None, "csv", "csv", "csv", "csv"],
            "item_id": ["a", "b", "c", "has space", "e", "f", "g"],
            "observed_ms": [T0, T0, T0, T0, 1_780_000_000, T0, T0],
            "platform": ["tiktok", "myspace", "tiktok", "tiktok", "tiktok", "tiktok", "tiktok"],
            "view": [1, 1, 1, 1, 1, None, -4],
        }
    )
    valid, rejected = validate(frame)
    assert valid["item_id"].to_list() == ["a"]
    assert valid["product_id"].to_list() == ["csv:a"]
    assert rejected.select("line_no", "reason").rows() == [
        (1, "invalid_value"),
        (2, "missing_field"),
        (3, "wrong_type"),
        (4, "invalid_value"),
        (5, "missing_field"),
        (6, "invalid_value"),
    ]
    assert "seconds" in rejected["detail"][3]


def test_first_snapshot_sets_the_baseline_and_later_ones_emit_increases() -> None:
    snaps = pl.DataFrame(
        {
            "source": ["yt"] * 4,
            "item_id": ["v1"] * 4,
            "observed_ms": [T0, T0 + 60_000, T0 + 120_000, T0 + 180_000],
            "platform": ["youtube"] * 4,
            "product_name": ["Keripik"] * 4,
            "view": [100, 150, 140, 200],
        }
    )
    result = snapshot_events(snaps, CounterBaselines.empty())
    assert result.events.select("ts", "count", "product_id", "product_name").rows() == [
        (T0 + 60_000, 50, "yt:v1", "Keripik"),
        (T0 + 180_000, 60, "yt:v1", "Keripik"),  # from the corrected 140, not from 150
    ]
    assert (result.baselines_set, result.corrections, result.repeats) == (1, 1, 0)
    assert result.baselines.frame.select("observed_ms", "value").rows() == [(T0 + 180_000, 200)]
    backfilled = snapshot_events(snaps.head(1), CounterBaselines.empty(), backfill=True)
    assert backfilled.events.select("ts", "count").rows() == [(T0, 100)]


def test_event_ids_depend_on_source_item_action_and_time_only() -> None:
    base = {"source": "yt", "item_id": "v1", "platform": "youtube", "like": 1}
    first = pl.DataFrame([base | {"observed_ms": T0, "view": 1}])
    later = pl.DataFrame([base | {"observed_ms": T0 + 1, "view": 9, "like": 5}])
    a = snapshot_events(later, snapshot_events(first, CounterBaselines.empty()).baselines)
    renamed = later.with_columns(product_name=pl.lit("other name"))
    b = snapshot_events(renamed, snapshot_events(first, CounterBaselines.empty()).baselines)
    assert a.events["event_id"].to_list() == b.events["event_id"].to_list()
    assert a.events["event_id"].n_unique() == 2  # view and like differ
    # Fixed forever: a changed hash would let a re-import count twice.
    assert (
        stable_ids(pl.DataFrame({"a": ["x"], "b": [1]}))[0]
        == blake2b(b"x\x1f1", digest_size=12).hexdigest()
    )


def test_creator_names_are_hashed_and_nulls_stay_null() -> None:
    ids = hashed_creator(pl.Series(["warung_bu_sri", None, "warung_bu_sri"]), "tiktok")
    assert ids[0] == ids[2] and ids[0].startswith("c-") and "warung" not in ids[0]
    assert ids[1] is None


def test_titles_become_valid_wire_text() -> None:
    from services.sources.event_writer import event_lines
    from shared.schema import decode_lines

    title = "[REVIEW] Keripik\tpedas\n" + "x" * 400
    snaps = pl.DataFrame(
        {
            "source": ["yt", "yt"],
            "item_id": ["v", "v"],
            "observed_ms": [T0, T0 + 1],
            "platform": ["youtube", "youtube"],
            "product_name": [title, title],
            "view": [1, 2],
        }
    )
    events = snapshot_events(snaps, CounterBaselines.empty()).events
    name = events["product_name"][0]
    assert name.startswith("REVIEW] Keripik pedas x") and len(name) == 256
    assert decode_lines(list(event_lines(events))).rejected.height == 0
