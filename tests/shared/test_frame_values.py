"""Rows as message values: Arrow batches out, the same rows back, older NDJSON still read."""

from __future__ import annotations

import polars as pl

from shared.kafka import ARROW_STREAM, frame_to_values, values_to_frame

SCHEMA: dict[str, pl.DataType] = {
    "product_id": pl.String(),
    "tick_ms": pl.Int64(),
    "growth": pl.Float64(),
    "platforms": pl.List(pl.String),
    "category": pl.String(),
}


def rows(n: int) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "product_id": [f"p{i}" for i in range(n)],
            "tick_ms": [1_772_409_600_000 + i for i in range(n)],
            "growth": [i / 7 if i % 5 else None for i in range(n)],
            "platforms": [["tiktok", "shopee"][: i % 3] for i in range(n)],
            "category": [None if i % 2 else "fashion" for i in range(n)],
        },
        schema=SCHEMA,
    )


def test_rows_round_trip_in_messages_of_bounded_size() -> None:
    frame = rows(2_500)
    values = frame_to_values(frame, rows_per_message=1_000)
    assert len(values) == 3
    assert all(v.startswith(ARROW_STREAM) for v in values)
    assert values_to_frame(values, SCHEMA).equals(frame)
    assert frame_to_values(frame.clear()) == []
    assert values_to_frame([], SCHEMA).schema == pl.Schema(SCHEMA)


def test_schema_orders_columns_and_fills_absent_ones() -> None:
    frame = rows(10)
    values = frame_to_values(frame.drop("category").select(reversed(frame.columns[:-1])))
    back = values_to_frame(values, SCHEMA)
    assert back.columns == list(SCHEMA)
    assert back["category"].null_count() == 10
    assert back.drop("category").equals(frame.drop("category"))


def test_ndjson_values_written_before_arrow_are_still_read() -> None:
    frame = rows(30)
    older = [frame.slice(0, 20).write_ndjson().encode(), frame.slice(20, 5).write_ndjson().encode()]
    newer = frame_to_values(frame.slice(25))
    assert values_to_frame([*older, *newer], SCHEMA).equals(frame)
