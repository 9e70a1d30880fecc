"""The ingest core for one partition: lines in, feature rows and rejects out. No I/O.

`submit(lines)` is the whole contract: decode → validate → late check → dedup → fold
into windows → fire every tick the watermark passed. The same object runs behind Kafka,
in `pantau replay` and in `pantau demo`, so all three produce identical features.

Event time is applied event by event in arrival order (vectorised with a running max),
so lateness, dedup and tick firing do not depend on how the stream was cut into batches.
A batch is folded in chunks that end where the watermark crosses a tick: a tick's
features see exactly the accepted events with `ts < tick`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from services.ingest.catalog import Catalog
from services.ingest.config import WindowConfig
from services.ingest.dedup import Deduplicator, id_hashes
from services.ingest.features import WINDOWS_MS, assemble, count_frame
from services.ingest.spread import Spread, spread_rows
from services.ingest.windows import CountWindows
from shared.schema import REJECT_SCHEMA, DecodedBatch, decode_lines

NO_TIME = np.iinfo(np.int64).min // 2


@dataclass
class IngestResult:
    """What one submitted batch produced."""

    features: list[pl.DataFrame] = field(default_factory=list)
    rejected: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=REJECT_SCHEMA))
    accepted: int = 0
    duplicates: int = 0

    @property
    def feature_rows(self) -> pl.DataFrame | None:
        return pl.concat(self.features) if self.features else None


class PartitionProcessor:
    """Window state and event time of one partition."""

    def __init__(self, partition: int, config: WindowConfig | None = None) -> None:
        self.partition = partition
        self.config = config or WindowConfig()
        self.windows = CountWindows(self.config)
        self.spread = Spread()
        self.catalog = Catalog(self.windows)
        self.dedup = Deduplicator(self.config.dedup_horizon_ms)
        self.max_ts_ms = NO_TIME
        self.watermark_ms = NO_TIME
        self.next_tick_ms: int | None = None

    def submit(self, lines: list[bytes]) -> IngestResult:
        """Decode, validate and fold NDJSON lines; `line_no`s in the result index `lines`."""
        return self.submit_decoded(decode_lines(lines))

    def submit_decoded(self, decoded: DecodedBatch) -> IngestResult:
        """Fold already decoded events (arrival order = `line_no` order)."""
        result = IngestResult(rejected=decoded.rejected)
        events = decoded.events
        if events.height == 0:
            return result
        ts = events["ts_ms"].to_numpy()
        lateness = self.config.allowed_lateness_ms
        running_max = np.maximum.accumulate(np.maximum(ts, self.max_ts_ms))
        seen_before = np.concatenate([[self.max_ts_ms], running_max[:-1]])
        late = ts < np.maximum(self.watermark_ms, seen_before - lateness)
        watermark_after = np.maximum(self.watermark_ms, running_max - lateness)
        if self.next_tick_ms is None:
            first_wm = int(watermark_after[0])
            self.next_tick_ms = (first_wm // self.config.tick_ms + 1) * self.config.tick_ms
        ticks = self._ticks_until(int(watermark_after[-1]))
        cuts = np.searchsorted(watermark_after, ticks, side="left")
        start = 0
        for cut in np.unique(cuts):
            self._fold(events.slice(start, cut - start), late[start:cut], result)
            self.watermark_ms = int(watermark_after[cut])
            for tick in ticks[cuts == cut]:
                result.features.append(self._fire(int(tick)))
            start = cut
        self._fold(events.slice(start), late[start:], result)
        self.max_ts_ms = int(running_max[-1])
        self.watermark_ms = int(watermark_after[-1])
        late_rows = events.filter(pl.Series(late)).select(
            "line_no",
            reason=pl.lit("late"),
            detail=pl.lit(f"older than the watermark (allowed lateness {lateness} ms)"),
        )
        result.rejected = pl.concat([result.rejected, late_rows]).sort("line_no")
        return result

    def advance_to(self, watermark_ms: int) -> list[pl.DataFrame]:
        """Move the watermark without events (idle partition following the wall clock)."""
        if self.next_tick_ms is None or watermark_ms <= self.watermark_ms:
            return []
        self.watermark_ms = watermark_ms
        return [self._fire(int(t)) for t in self._ticks_until(watermark_ms)]

    def _ticks_until(self, watermark_ms: int) -> np.ndarray:
        assert self.next_tick_ms is not None
        return np.arange(self.next_tick_ms, watermark_ms + 1, self.config.tick_ms, dtype=np.int64)

    def _fold(self, events: pl.DataFrame, late: np.ndarray, result: IngestResult) -> None:
        if events.height == 0:
            return
        on_time = events.filter(pl.Series(~late))
        fresh = self.dedup.first_seen(id_hashes(on_time["event_id"]))
        result.duplicates += int((~fresh).sum())
        accepted = on_time.filter(pl.Series(fresh))
        result.accepted += accepted.height
        if accepted.height == 0:
            return
        tick = self.config.tick_ms
        accepted = self.catalog.assign(accepted).with_columns(
            bucket_ms=pl.col("ts_ms") - pl.col("ts_ms") % tick
        )
        partial = accepted.group_by("slot", "bucket_ms", "action").agg(n=pl.col("count").sum())
        self.windows.add(
            partial["slot"].to_numpy(),
            partial["bucket_ms"].to_numpy(),
            partial["action"].to_physical().to_numpy(),
            partial["n"].to_numpy(),
        )
        self.spread.add(spread_rows(accepted))

    def _fire(self, tick_ms: int) -> pl.DataFrame:
        self.dedup.advance(tick_ms)
        self.spread.advance(tick_ms)
        slots = self.catalog.candidates(tick_ms - self.config.active_ms - 3_600_000, tick_ms)
        counts = count_frame(
            {w: self.windows.window(slots, tick_ms, ms) for w, ms in WINDOWS_MS.items()}
        )
        keys = self.catalog.keys(slots).with_columns(
            partition=pl.lit(self.partition, pl.Int32), watermark_ms=pl.lit(self.watermark_ms)
        )
        rows = assemble(keys, counts, self.spread.features(tick_ms), tick_ms)
        self.catalog.prune(tick_ms - self.config.retention_ms)
        self.next_tick_ms = tick_ms + self.config.tick_ms
        return rows

    @property
    def state_bytes(self) -> int:
        return self.windows.nbytes + self.spread.nbytes + self.dedup.nbytes + self.catalog.nbytes
