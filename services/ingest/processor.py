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
from services.ingest.config import HOUR_MS, WindowConfig
from services.ingest.dedup import Deduplicator, id_hashes
from services.ingest.features import (
    WINDOWS_MS,
    PeerMedians,
    TickRows,
    frames,
    no_rows,
    tick_rows,
)
from services.ingest.sorted_arrays import distinct
from services.ingest.spread import Spread
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
        self.catalog = Catalog(self.windows, self.config.retention_ms)
        self.dedup = Deduplicator(self.config.dedup_horizon_ms)
        self.max_ts_ms = NO_TIME
        self.watermark_ms = NO_TIME
        self.next_tick_ms: int | None = None
        # (slot, bucket_ms) of folded events no tick has counted yet.
        self.uncounted: list[tuple[np.ndarray, np.ndarray]] = []
        # Category medians for the peer columns, and the hour they serve.
        self.peers: PeerMedians | None = None
        self.peers_hour_ms: int | None = None

    def submit(self, lines: list[bytes]) -> IngestResult:
        """Decode, validate and fold NDJSON lines; `line_no`s in the result index `lines`."""
        return self.submit_decoded(decode_lines(lines))

    def submit_decoded(self, decoded: DecodedBatch) -> IngestResult:
        """Fold already decoded events (arrival order = `line_no` order; rejects sorted by it)."""
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
        # Ticks fire after the event whose watermark reaches them: chunk c is the stretch
        # of events between the (c-1)-th and c-th distinct firing positions.
        cuts = np.searchsorted(watermark_after, ticks, side="left")
        bounds = np.unique(cuts)
        chunk = np.searchsorted(bounds, np.arange(len(ts)), side="right")
        fresh = self._dedup(events["event_id"], ~late, ticks, cuts)
        result.duplicates = int((~late & ~fresh).sum())
        keep = ~late & fresh
        result.accepted = int(keep.sum())
        chunks = self._prepare(events.filter(pl.Series(keep)), chunk[keep], ticks, cuts, bounds)
        fired: list[TickRows] = []
        for c, (counts, described) in enumerate(chunks):
            self.windows.add(*counts)
            self.uncounted.append(counts[:2])
            self.catalog.describe(*described)
            if c < len(bounds):
                self.watermark_ms = int(watermark_after[bounds[c]])
                fired.extend(self._fire(tick) for tick in ticks[cuts == bounds[c]].tolist())
        result.features = frames(fired, self.partition)
        self.max_ts_ms = int(running_max[-1])
        self.watermark_ms = int(watermark_after[-1])
        if late.any():
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
        fired: list[TickRows] = []
        for tick in self._ticks_until(watermark_ms).tolist():
            self.dedup.advance(tick)
            fired.append(self._fire(tick))
        return frames(fired, self.partition)

    def _ticks_until(self, watermark_ms: int) -> np.ndarray:
        assert self.next_tick_ms is not None
        return np.arange(self.next_tick_ms, watermark_ms + 1, self.config.tick_ms, dtype=np.int64)

    def _dedup(
        self, event_ids: pl.Series, on_time: np.ndarray, ticks: np.ndarray, cuts: np.ndarray
    ) -> np.ndarray:
        """Mask of first sightings, checked in stretches between the ticks that rotate ids."""
        hashes = id_hashes(event_ids)
        fresh = np.zeros(len(hashes), dtype=bool)
        start = 0
        for tick, cut in zip(ticks.tolist(), cuts.tolist(), strict=True):
            if self.dedup.rotates_at(tick):
                part = np.flatnonzero(on_time[start:cut]) + start
                fresh[part] = self.dedup.first_seen(hashes[part])
                start = cut
            self.dedup.advance(tick)
        part = np.flatnonzero(on_time[start:]) + start
        fresh[part] = self.dedup.first_seen(hashes[part])
        return fresh

    def _prepare(
        self,
        accepted: pl.DataFrame,
        chunk: np.ndarray,
        ticks: np.ndarray,
        cuts: np.ndarray,
        bounds: np.ndarray,
    ) -> list[tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]]:
        """Vectorised work for a whole batch: slots, spread rows, and per chunk the count
        partials and product descriptions to fold before that chunk's ticks fire.

        Spread rows can be folded at once because a tick only reads buckets before it, and
        every event of a later chunk is at or after that tick. Count rings cannot (a ring
        cell is reused for a newer bucket), so their partials are split by chunk.
        """
        n_chunks = len(bounds) + 1
        # The last tick fired before each chunk (pruning happens at ticks).
        last_fired = np.full(n_chunks, NO_TIME, dtype=np.int64)
        if self.next_tick_ms is not None:
            last_fired[:] = self.next_tick_ms - self.config.tick_ms
        if len(bounds):
            last_tick = ticks[np.searchsorted(cuts, bounds, side="right") - 1]
            last_fired[1:] = last_tick
        accepted = accepted.with_columns(chunk=pl.Series(chunk, dtype=pl.Int64))
        slots = self.catalog.assign(accepted, last_fired)
        tick = self.config.tick_ms
        accepted = accepted.with_columns(
            slot=pl.Series(slots, dtype=pl.Int64),
            bucket_ms=pl.col("ts_ms") - pl.col("ts_ms") % tick,
        )
        self.spread.add(accepted)
        partial = (
            accepted.group_by("chunk", "slot", "bucket_ms", "action")
            .agg(n=pl.col("count").sum())
            .sort("chunk")
        )
        described = accepted.filter(
            pl.col("category").is_not_null() | pl.col("product_name").is_not_null()
        )
        if described.height:
            described = (
                described.group_by("chunk", "slot")
                .agg(pl.col("category", "product_name").drop_nulls().last())
                .sort("chunk")
            )
        columns = [
            partial["slot"].to_numpy(),
            partial["bucket_ms"].to_numpy(),
            partial["action"].to_physical().to_numpy(),
            partial["n"].to_numpy(),
        ]
        edges = np.searchsorted(partial["chunk"].to_numpy(), np.arange(n_chunks + 1))
        info = np.searchsorted(described["chunk"].to_numpy(), np.arange(n_chunks + 1))
        details = [
            described["slot"].to_numpy(),
            described["category"].to_numpy(),
            described["product_name"].to_numpy(),
        ]
        return [
            (
                tuple(col[edges[c] : edges[c + 1]] for col in columns),
                tuple(col[info[c] : info[c + 1]] for col in details),
            )
            for c in range(n_chunks)
        ]

    def _fire(self, tick_ms: int) -> TickRows:
        """The rows of one tick: for each active product whose windows gained an event
        since the previous tick, and at a whole hour for every active product.

        The category medians of the peer columns are taken over every active product at
        the first tick of each hour and serve the rest of the hour, so a tick in between
        costs O(products with new events), and a tick without any costs next to nothing.
        """
        hour_ms = tick_ms - tick_ms % HOUR_MS
        changed = self._changed_slots(tick_ms)
        since_ms = tick_ms - self.config.active_ms - HOUR_MS
        everyone = tick_ms == hour_ms or self.peers_hour_ms != hour_ms
        self.next_tick_ms = tick_ms + self.config.tick_ms
        if not everyone and len(changed) == 0:
            return no_rows(tick_ms, self.watermark_ms)
        slots = self.catalog.candidates(since_ms, tick_ms, None if everyone else changed)
        if len(slots) == 0:
            return no_rows(tick_ms, self.watermark_ms)
        lengths = list(WINDOWS_MS.values())
        windows = self.windows.windows(slots, tick_ms, lengths)
        active = windows[list(WINDOWS_MS).index("24h")].sum(axis=1) > 0
        if everyone:
            counts = dict(zip(WINDOWS_MS, windows[:, active], strict=True))
            self.peers = PeerMedians.of(counts, self.catalog.category[slots[active]])
            self.peers_hour_ms = hour_ms
            if tick_ms != hour_ms:  # the stream's first tick of the hour, between hours
                active &= np.isin(slots, changed)
        keep = np.flatnonzero(active)
        # Rows are published sorted by product id.
        keep = keep[np.argsort(self.catalog.product_id[slots[keep]], kind="stable")]
        slots = slots[keep]
        counts = dict(zip(WINDOWS_MS, windows[:, keep], strict=True))
        rows = tick_rows(
            self.catalog.columns(slots),
            self.catalog.first_seen_ms[slots],
            counts,
            self.spread.at(tick_ms, len(self.catalog.in_use)),
            slots,
            tick_ms=tick_ms,
            watermark_ms=self.watermark_ms,
            peers=self.peers,
        )
        self.catalog.prune(tick_ms - self.config.retention_ms)
        return rows

    def _changed_slots(self, tick_ms: int) -> np.ndarray:
        """Slots with folded events before `tick_ms` that no earlier tick counted (in the
        tick's last bucket, or older ones folded since the previous tick); those events
        are counted from now on, the later ones stay waiting."""
        if not self.uncounted:
            return np.empty(0, np.int64)
        slot = np.concatenate([part[0] for part in self.uncounted])
        bucket_ms = np.concatenate([part[1] for part in self.uncounted])
        counted = bucket_ms < tick_ms
        waiting = ~counted
        self.uncounted = [(slot[waiting], bucket_ms[waiting])] if waiting.any() else []
        return distinct(slot[counted])

    @property
    def last_tick_ms(self) -> int | None:
        """The last tick fired (None before the first events)."""
        return None if self.next_tick_ms is None else self.next_tick_ms - self.config.tick_ms

    @property
    def state_bytes(self) -> int:
        return self.windows.nbytes + self.spread.nbytes + self.dedup.nbytes + self.catalog.nbytes
