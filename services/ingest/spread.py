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
    """Sparse spread state of one partition."""

    def __init__(self) -> None:
        self.recent: dict[int, list[pl.DataFrame]] = {}  # tick bucket start -> frames
        self.hourly: dict[int, pl.DataFrame] = {}  # hour start -> compacted frame

    def add(self, rows: pl.DataFrame) -> None:
        for (bucket,), frame in rows.partition_by("bucket_ms", as_dict=True).items():
            self.recent.setdefault(int(bucket), []).append(frame.drop("bucket_ms"))

    def advance(self, tick_ms: int) -> None:
        """Compact tick buckets of hours that ended by `tick_ms`; forget hours older than a day."""
        hour_now = tick_ms - tick_ms % HOUR_MS
        done = sorted(b for b in self.recent if b < hour_now)
        for bucket in done:
            hour = bucket - bucket % HOUR_MS
            frames = self.recent.pop(bucket)
            if hour in self.hourly:
                frames.append(self.hourly[hour])
            self.hourly[hour] = _sum(frames)
        for hour in [h for h in self.hourly if h < hour_now - DAY_MS]:
            del self.hourly[hour]

    def _frames(self, tick_ms: int, length_ms: int) -> pl.DataFrame:
        first_hour = -(-(tick_ms - length_ms) // HOUR_MS) * HOUR_MS
        frames = [
            f.with_columns(hour_ms=pl.lit(h, pl.Int64))
            for h, f in self.hourly.items()
            if first_hour <= h < tick_ms
        ]
        hour_now = tick_ms - tick_ms % HOUR_MS
        frames += [
            f.with_columns(hour_ms=pl.lit(hour_now, pl.Int64))
            for b, fs in self.recent.items()
            if b < tick_ms
            for f in fs
        ]
        if not frames:
            return pl.DataFrame(schema={**SPREAD_SCHEMA, "hour_ms": pl.Int64})
        return pl.concat(frames)

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
            .agg(platforms_24h=pl.col("key").n_unique())
        )
        return creators.join(regions, on="slot", how="full", coalesce=True).join(
            platforms, on="slot", how="full", coalesce=True
        )

    def frames(self) -> pl.DataFrame:
        """All state as one frame (for checkpoints); `bucket_ms` marks tick buckets, else hours."""
        parts = [
            f.with_columns(bucket_ms=pl.lit(b, pl.Int64), hourly=pl.lit(False))
            for b, fs in self.recent.items()
            for f in fs
        ]
        parts += [
            f.with_columns(bucket_ms=pl.lit(h, pl.Int64), hourly=pl.lit(True))
            for h, f in self.hourly.items()
        ]
        if not parts:
            return pl.DataFrame(
                schema={**SPREAD_SCHEMA, "bucket_ms": pl.Int64, "hourly": pl.Boolean}
            )
        return pl.concat(parts)

    @classmethod
    def from_frames(cls, frame: pl.DataFrame) -> Spread:
        spread = cls()
        for (bucket, hourly), part in frame.partition_by(
            "bucket_ms", "hourly", as_dict=True
        ).items():
            body = part.drop("bucket_ms", "hourly")
            if hourly:
                spread.hourly[int(bucket)] = body
            else:
                spread.recent[int(bucket)] = [body]
        return spread

    def drop_slots(self, slots: list[int]) -> None:
        keep = ~pl.col("slot").is_in(slots)
        self.recent = {b: [f.filter(keep) for f in fs] for b, fs in self.recent.items()}
        self.hourly = {h: f.filter(keep) for h, f in self.hourly.items()}

    @property
    def nbytes(self) -> int:
        return int(
            sum(f.estimated_size() for fs in self.recent.values() for f in fs)
            + sum(f.estimated_size() for f in self.hourly.values())
        )


def _sum(frames: list[pl.DataFrame]) -> pl.DataFrame:
    return pl.concat(frames).group_by("slot", "dim", "key").agg(pl.col("n").sum())


def _entropy(n: pl.Expr) -> pl.Expr:
    p = n / n.sum()
    return -(p * p.log(2)).sum()
