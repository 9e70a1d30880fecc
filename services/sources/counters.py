"""Successive snapshots of cumulative counters become delta events. Pure; no I/O.

Per (source, item_id, action) the baselines hold the last observed time and value. A
snapshot row's counter is taken only if it was observed after everything seen before it
for that counter (else it is a repeat); the first one sets the baseline and emits
nothing (unless backfilling), a later one emits its increase, and a decrease emits
nothing but moves the baseline down (a correction: deleted likes, platform recounts).

Rows are taken in the frame's order, and whether a row is taken depends only on the
rows before it, so any split of a sequence into batches, any repetition and any restart
from saved baselines give the same events. Event ids hash (source, item_id, action,
observed_ms): re-importing a file or replaying a poll yields the same ids, which ingest
drops as duplicates.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from services.sources.posts import PostText, context, post_targets
from services.sources.snapshots import COUNTERS, conform, stable_ids
from shared.text.terms import CONTEXT_SCHEMA

KEY = ("source", "item_id", "action")
BASELINE_SCHEMA: dict[str, pl.DataType] = {
    "source": pl.String(),
    "item_id": pl.String(),
    "action": pl.String(),
    "observed_ms": pl.Int64(),
    "value": pl.Int64(),
}
# Wire-format fields (DESIGN.md "Engagement event"), `ts` in epoch milliseconds.
EVENT_FIELDS: dict[str, pl.DataType] = {
    "event_id": pl.String(),
    "ts": pl.Int64(),
    "platform": pl.String(),
    "product_id": pl.String(),
    "action": pl.String(),
    "count": pl.Int64(),
    "creator_id": pl.String(),
    "region": pl.String(),
    "category": pl.String(),
    "product_name": pl.String(),
}


@dataclass(frozen=True)
class CounterBaselines:
    """The last observed time and value of every counter seen: state that outlives a run.

    Immutable: `snapshot_events` returns the next baselines, so a caller that fails to
    deliver the events keeps the old ones and computes the same events again.
    """

    frame: pl.DataFrame

    @classmethod
    def empty(cls) -> CounterBaselines:
        return cls(pl.DataFrame(schema=BASELINE_SCHEMA))

    @classmethod
    def from_frame(cls, frame: pl.DataFrame) -> CounterBaselines:
        """Baselines from a frame of `BASELINE_SCHEMA` (as persisted); one row per key."""
        missing = set(BASELINE_SCHEMA) - set(frame.columns)
        if missing:
            raise ValueError(f"baselines lack columns {sorted(missing)}")
        shaped = frame.select(pl.col(n).cast(t) for n, t in BASELINE_SCHEMA.items())
        if shaped.select(pl.struct(KEY).is_duplicated().any()).item():
            raise ValueError("baselines hold a counter twice")
        return cls(shaped)

    def __len__(self) -> int:
        return self.frame.height


@dataclass(frozen=True)
class CounterResult:
    """Events to send, the baselines to keep once they are sent, and what was skipped.

    Counts are per counter observation (one item's one action in one snapshot).
    """

    events: pl.DataFrame  # EVENT_FIELDS
    baselines: CounterBaselines
    corrections: int  # counter went down: nothing emitted, baseline moved down
    repeats: int  # observed at or before the counter's last observation: nothing emitted
    baselines_set: int  # first observation of a counter
    # With text: what the terms of the items with new counts were about (posts.context).
    term_context: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=CONTEXT_SCHEMA))


def empty_events() -> pl.DataFrame:
    return pl.DataFrame(schema=EVENT_FIELDS)


def snapshot_events(
    snapshots: pl.DataFrame,
    baselines: CounterBaselines,
    backfill: bool = False,
    text: PostText | None = None,
) -> CounterResult:
    """Delta events of `snapshots` (valid rows of `SNAPSHOT_SCHEMA`, in arrival order).

    With `backfill`, a counter's first observation emits its whole value at that time.
    With `text`, each delta goes to the products and terms of its row's text
    (services/sources/posts.py); an event that text gave a product to has that
    product_id in its id too, so one delta counted for two products is two events.
    """
    rows = conform(snapshots).with_row_index("row")
    observations = (
        rows.unpivot(
            index=["row", "source", "item_id", "observed_ms"],
            on=list(COUNTERS),
            variable_name="action",
            value_name="value",
        )
        .drop_nulls("value")
        .sort("row", maintain_order=True)  # arrival order; actions in COUNTERS order
        .join(
            baselines.frame.rename({"observed_ms": "base_ms", "value": "base_value"}),
            on=KEY,
            how="left",
            maintain_order="left",
        )
    )
    key = list(KEY)
    seen_ms = pl.max_horizontal("base_ms", pl.col("observed_ms").cum_max().shift(1).over(key))
    observations = observations.with_columns(
        taken=seen_ms.is_null() | (pl.col("observed_ms") > seen_ms)
    )
    taken = observations.filter("taken").with_columns(
        previous=pl.coalesce(pl.col("value").shift(1).over(key), "base_value")
    )
    first = pl.col("previous").is_null()
    delta = pl.col("value") - pl.col("previous")
    emitted = taken.filter(
        (first & backfill & (pl.col("value") > 0)) | (delta > 0).fill_null(False)
    ).with_columns(count=pl.coalesce(delta, "value"))
    counts = taken.select(corrections=(delta < 0).sum(), baselines_set=first.sum()).row(
        0, named=True
    )
    latest = taken.group_by(key, maintain_order=True).agg(pl.col("observed_ms", "value").last())
    next_frame = pl.concat(
        [baselines.frame.join(latest, on=key, how="anti"), latest.select(list(BASELINE_SCHEMA))]
    )
    events, term_context = _events(emitted, rows, text)
    return CounterResult(
        events=events,
        term_context=term_context,
        baselines=CounterBaselines(next_frame),
        corrections=int(counts["corrections"] or 0),
        repeats=observations.height - taken.height,
        baselines_set=int(counts["baselines_set"] or 0),
    )


def _events(
    emitted: pl.DataFrame, rows: pl.DataFrame, text: PostText | None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The events, and the term context of the rows that had some."""
    term_context = pl.DataFrame(schema=CONTEXT_SCHEMA)
    if emitted.height == 0:
        return empty_events(), term_context
    where = rows.select("row", "platform", "creator_id", "region")
    if text is None:
        what = rows.select("row", "product_id", "category", "product_name", derived=pl.lit(False))
    else:
        found, terms = post_targets(rows, text)
        what = found.with_columns(pl.col("row").cast(rows["row"].dtype))
        counted = emitted["row"].unique().cast(pl.UInt32)
        term_context = context(
            rows.with_columns(pl.col("row").cast(pl.UInt32)),
            terms.filter(pl.col("row").is_in(counted.implode())),
        )
    joined = emitted.join(where, on="row", how="left", maintain_order="left").join(
        what, on="row", maintain_order="left"
    )
    occurrence = ["source", "item_id", "action", "observed_ms"]
    event_id = stable_ids(joined.select(occurrence))
    if joined["derived"].any():
        named = stable_ids(joined.select(*occurrence, "product_id"))
        event_id = pl.select(pl.when(joined["derived"]).then(named).otherwise(event_id)).to_series()
    return joined.select(
        event_id.alias("event_id"),
        pl.col("observed_ms").alias("ts"),
        "platform",
        "product_id",
        "action",
        "count",
        "creator_id",
        "region",
        _wire_text("category"),
        _wire_text("product_name"),
    ).select(pl.col(n).cast(t) for n, t in EVENT_FIELDS.items()), term_context


def _wire_text(name: str) -> pl.Expr:
    """A title as the wire format takes it: one line, at most 256 characters, not opening
    like JSON (a video titled "[REVIEW] ..." must not get its events rejected)."""
    return (
        pl.col(name)
        .str.replace_all(r"[\x00-\x1f]+", " ")
        .str.strip_chars_start("{[ ")
        .str.slice(0, 256)
        .str.strip_chars_end()
        .replace("", None)
        .alias(name)
    )
