"""Who and where: distinct creators, regions and platforms per product over event time.

Kept as sparse Polars frames of (slot, dim, key, n) per tick bucket; buckets of a
finished hour are compacted into one hourly frame, and hours older than a day dropped.
A 6 h or 24 h spread at tick T reads the hourly frames from ceil_hour(T - W) plus the
tick frames of the current hour, mirroring the count windows.
"""

from __future__ import annotations

import polars as pl

from services.ingest.config import DAY_MS, HOUR_MS

CREATOR, REGION, PLATFORM = 0, 1, 2
SPREAD_SCHEMA = {"slot": pl.UInt32, "dim": pl.UInt8, "key": pl.String, "n": pl.Int64}


def spread_rows(events: pl.DataFrame) -> pl.DataFrame:
    """(bucket_ms, slot, dim, key, n) rows of one batch; `events` has slot, bucket_ms, count."""
    parts = [
        events.select(
            "bucket_ms",
            "slot",
            dim=pl.lit(dim, pl.UInt8),
            key=pl.col(col).cast(pl.String),
            n="count",
        )
        for dim, col in ((CREATOR, "creator_id"), (REGION, "region"), (PLATFORM, "platform"))
    ]
    rows = pl.concat(parts).drop_nulls("key")
    return rows.group_by("bucket_ms", "slot", "dim", "key").agg(pl.col("n").sum())


class Spread:
    """Sparse spread state of one partition: two tables, recent tick buckets and whole hours."""

    def __init__(self) -> None:
        self.pending: list[pl.DataFrame] = []  # rows added since the last tick
        self.recent = _empty(bucket=True)  # tick buckets of the current (unfinished) hour(s)
        self.hourly = _empty(bucket=False)  # compacted hours of the last day

    def add(self, rows: pl.DataFrame) -> None:
        self.pending.append(rows)

    def advance(self, tick_ms: int) -> None:
        """Compact tick buckets of hours that ended by `tick_ms`; forget hours older than a day."""
        if self.pending:
            self.recent = pl.concat([self.recent, *self.pending])
            self.pending = []
        hour_now = tick_ms - tick_ms % HOUR_MS
        done = pl.col("bucket_ms") < hour_now
        finished = self.recent.filter(done)
        if finished.height:
            self.recent = self.recent.filter(~done)
            hours = finished.with_columns(
                hour_ms=pl.col("bucket_ms") - pl.col("bucket_ms") % HOUR_MS
            )
            self.hourly = (
                pl.concat([self.hourly, hours.select("hour_ms", *SPREAD_SCHEMA)])
                .group_by("hour_ms", "slot", "dim", "key")
                .agg(pl.col("n").sum())
            )
        self.hourly = self.hourly.filter(pl.col("hour_ms") >= hour_now - DAY_MS)

    def _frames(self, tick_ms: int, length_ms: int) -> pl.DataFrame:
        first_hour = -(-(tick_ms - length_ms) // HOUR_MS) * HOUR_MS
        hour_now = tick_ms - tick_ms % HOUR_MS
        recent = self.recent.filter(pl.col("bucket_ms") < tick_ms).select(
            pl.lit(hour_now, pl.Int64).alias("hour_ms"), *SPREAD_SCHEMA
        )
        hourly = self.hourly.filter(pl.col("hour_ms").is_between(first_hour, tick_ms - 1))
        return pl.concat([hourly.select("hour_ms", *SPREAD_SCHEMA), recent])

    def features(self, tick_ms: int) -> pl.DataFrame:
        """Spread features per slot at `tick_ms` (only slots with any spread rows)."""
        day = self._frames(tick_ms, DAY_MS)
        since_6h = -(-(tick_ms - 6 * HOUR_MS) // HOUR_MS) * HOUR_MS
        creators = (
            day.filter(pl.col("dim") == CREATOR)
            .group_by("slot", "key")
            .agg(first=pl.col("hour_ms").min(), last=pl.col("hour_ms").max())
            .group_by("slot")
            .agg(
                creators_24h=pl.len(),
                creators_6h=(pl.col("last") >= since_6h).sum(),
                new_6h=(pl.col("first") >= since_6h).sum(),
            )
            .with_columns(
                new_creator_share_6h=pl.when(pl.col("creators_6h") > 0)
                .then(pl.col("new_6h") / pl.col("creators_6h"))
                .otherwise(0.0)
            )
            .drop("new_6h")
        )
        regions = (
            day.filter(pl.col("dim") == REGION)
            .group_by("slot", "key")
            .agg(
                n=pl.col("n").sum(), recent=pl.col("n").filter(pl.col("hour_ms") >= since_6h).sum()
            )
            .group_by("slot")
            .agg(
                regions_24h=pl.len(),
                region_entropy_24h=_entropy(pl.col("n")),
                top_regions=pl.col("key")
                .sort_by(["recent", "n", "key"], descending=[True, True, False])
                .head(5),
            )
        )
        platforms = (
            day.filter(pl.col("dim") == PLATFORM)
            .group_by("slot")
            .agg(platforms_24h=pl.col("key").n_unique(), platforms=pl.col("key").unique().sort())
        )
        return creators.join(regions, on="slot", how="full", coalesce=True).join(
            platforms, on="slot", how="full", coalesce=True
        )

    @property
    def nbytes(self) -> int:
        return int(
            self.recent.estimated_size()
            + self.hourly.estimated_size()
            + sum(f.estimated_size() for f in self.pending)
        )


def _empty(bucket: bool) -> pl.DataFrame:
    time_column = {"bucket_ms": pl.Int64} if bucket else {"hour_ms": pl.Int64}
    return pl.DataFrame(schema={**time_column, **SPREAD_SCHEMA})


def _entropy(n: pl.Expr) -> pl.Expr:
    p = n / n.sum()
    return -(p * p.log(2)).sum()
