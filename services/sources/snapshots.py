"""The snapshot frame: one row per observation of one item's cumulative counters.

Exports and platform APIs rarely give one event per action; they give an item (a video,
a post, a listing) with its counters as they stood at some time. Every source is first
shaped into `SNAPSHOT_SCHEMA`, so one counter core serves them all. Pure; no I/O.
"""

from __future__ import annotations

from hashlib import blake2b

import polars as pl

from shared.schema import ACTIONS, MAX_TS_MS, MIN_TS_MS, PLATFORMS, REJECT_SCHEMA

# A cumulative counter column per action, named after the action it counts.
COUNTERS: tuple[str, ...] = ACTIONS
ATTRIBUTES: tuple[str, ...] = (
    "platform",
    "product_id",
    "category",
    "product_name",
    "creator_id",
    "region",
    "text",
)
SNAPSHOT_SCHEMA: dict[str, pl.DataType] = {
    "source": pl.String(),
    "item_id": pl.String(),
    "observed_ms": pl.Int64(),
    "platform": pl.String(),
    "product_id": pl.String(),  # null: f"{source}:{item_id}"
    "category": pl.String(),
    "product_name": pl.String(),
    "creator_id": pl.String(),
    "region": pl.String(),
    "text": pl.String(),  # title, description, hashtags: kept for product matching
    **{action: pl.Int64() for action in COUNTERS},
}
_ID = r"^[A-Za-z0-9_.:@/#+=-]{1,128}$"


def empty_snapshots() -> pl.DataFrame:
    return pl.DataFrame(schema=SNAPSHOT_SCHEMA)


def conform(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` as `SNAPSHOT_SCHEMA`: its columns in order and type, absent ones null,
    and `product_id` filled with `source:item_id` where missing."""
    shaped = frame.select(
        (pl.col(name) if name in frame.columns else pl.lit(None)).cast(dtype).alias(name)
        for name, dtype in SNAPSHOT_SCHEMA.items()
    )
    return shaped.with_columns(
        product_id=pl.coalesce(
            pl.col("product_id"), pl.concat_str("source", pl.lit(":"), "item_id")
        )
    )


def _checks() -> list[tuple[pl.Expr, str, str]]:
    """(failing condition, reason, detail) in priority order; reasons are ingest's."""
    counters = [pl.col(c) for c in COUNTERS]
    return [
        (pl.col("source").is_null(), "missing_field", "source: required"),
        (pl.col("item_id").is_null(), "missing_field", "item_id: required"),
        (
            pl.col("observed_ms").is_null(),
            "missing_field",
            "observed_at: required, as RFC 3339 or epoch milliseconds",
        ),
        (pl.col("platform").is_null(), "missing_field", "platform: required"),
        (
            ~pl.col("product_id").str.contains(_ID),
            "wrong_type",
            "product_id (or source:item_id): expected 1-128 characters of A-Z a-z 0-9 _.:@/#+=-",
        ),
        (
            ~pl.col("observed_ms").is_between(MIN_TS_MS, MAX_TS_MS),
            "invalid_value",
            "observed_at: outside 2000-01-01..2100-01-01 (epoch seconds instead of milliseconds?)",
        ),
        (
            ~pl.col("platform").is_in(PLATFORMS),
            "invalid_value",
            f"platform: expected one of {', '.join(PLATFORMS)}",
        ),
        (
            pl.all_horizontal(c.is_null() for c in counters),
            "missing_field",
            f"no counter: expected at least one of {', '.join(COUNTERS)}",
        ),
        (
            pl.any_horizontal(c < 0 for c in counters).fill_null(False),
            "invalid_value",
            "counter: a cumulative counter cannot be negative",
        ),
    ]


_CHECKS = _checks()


def validate(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Valid snapshot rows (conformed) and the others as (line_no, reason, detail).

    `line_no` is the frame's `line_no` column when it has one, else the row's position;
    the first failing check names the reason.
    """
    line_no = (
        frame["line_no"].cast(pl.Int64)
        if "line_no" in frame.columns
        else pl.int_range(frame.height, dtype=pl.Int64, eager=True)
    )
    snapshots = conform(frame).with_columns(line_no.alias("line_no"))
    reason: pl.Expr = pl.lit(None, pl.String)
    detail: pl.Expr = pl.lit(None, pl.String)
    for cond, why, text in reversed(_CHECKS):
        reason = pl.when(cond.fill_null(True)).then(pl.lit(why)).otherwise(reason)
        detail = pl.when(cond.fill_null(True)).then(pl.lit(text)).otherwise(detail)
    flagged = snapshots.with_columns(reason=reason, detail=detail)
    valid = flagged.filter(pl.col("reason").is_null()).select(list(SNAPSHOT_SCHEMA))
    rejected = flagged.filter(pl.col("reason").is_not_null()).select(list(REJECT_SCHEMA))
    return valid, rejected


def stable_ids(parts: pl.DataFrame, digest_bytes: int = 12) -> pl.Series:
    """A hash of each row's values that never changes between runs, versions or machines.

    Polars' own hash is not stable across versions, and an id that changed after an
    upgrade would let a re-import count its events twice.
    """
    joined = parts.select(
        pl.concat_str(
            [pl.col(c).cast(pl.String).fill_null("") for c in parts.columns], separator="\x1f"
        )
    ).to_series()
    return pl.Series(
        [blake2b(s.encode(), digest_size=digest_bytes).hexdigest() for s in joined.to_list()],
        dtype=pl.String,
    )


def hashed_creator(names: pl.Series, source: str) -> pl.Series:
    """Account names as pseudonymous, stable `creator_id`s (the names themselves are not kept)."""
    frame = pl.DataFrame({"name": names.cast(pl.String)}).with_columns(source=pl.lit(source))
    ids = stable_ids(frame.select("source", "name"), digest_bytes=8)
    return (
        frame.select(pl.when(pl.col("name").is_not_null()).then("c-" + ids))
        .to_series()
        .alias("creator_id")
    )
