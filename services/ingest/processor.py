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

from services.ingest.bucket_queue import BucketQueue
from services.ingest.catalog import Catalog
from services.ingest.config import HOUR_MS, NO_TIME, WindowConfig
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
from services.ingest.state_arrays import (
    Arrays,
    arrays_to_strings,
    int_or_none,
    nest,
    optional_int,
    section,
    strings_to_arrays,
)
from services.ingest.windows import CountWindows
from shared.schema import REJECT_SCHEMA, DecodedBatch, decode_lines


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


@dataclass
class Lookahead:
    """Provisional ticks: a fork of the spread state, the next tick it passes, the tick
    up to which it has counted the events folded so far, and its own hourly medians."""

    spread: Spread
    next_tick_ms: int
    peers: PeerMedians | None
    peers_hour_ms: int | None
    counted_until_ms: int = NO_TIME


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
        # (bucket_ms, slot) of folded events no tick has counted yet.
        self.uncounted = _no_uncounted()
        # Category medians for the peer columns, and the hour they serve.
        self.peers: PeerMedians | None = None
        self.peers_hour_ms: int | None = None
        # Provisional ticks (`advance_to`): the last one published, and the fork firing
        # them until events come. Neither is checkpointed: a restarted worker may publish
        # an idle tick again, which only repeats a provisional row.
        self.provisional_until_ms = NO_TIME
        self._ahead: Lookahead | None = None

    def submit(self, lines: list[bytes], *, now_ms: int) -> IngestResult:
        """Decode, validate and fold NDJSON lines; `line_no`s in the result index `lines`."""
        return self.submit_decoded(decode_lines(lines), now_ms=now_ms)

    def submit_decoded(self, decoded: DecodedBatch, *, now_ms: int) -> IngestResult:
        """Fold already decoded events (arrival order = `line_no` order; rejects sorted by it).

        `now_ms` is the wall clock of the caller: events stamped more than the future margin
        after it are rejected as `future` before they touch any state.
        """
        events, future = self._split_future(decoded.events, now_ms)
        result = IngestResult(rejected=_joined_rejects(decoded.rejected, future))
        if events.height == 0:
            return result
        self._ahead = None  # provisional ticks fork the state anew after events
        ts = events["ts_ms"].to_numpy()
        lateness, tick = self.config.allowed_lateness_ms, self.config.tick_ms
        running_max = np.maximum.accumulate(np.maximum(ts, self.max_ts_ms))
        seen_before = np.concatenate([[self.max_ts_ms], running_max[:-1]])
        late = ts < np.maximum(self.watermark_ms, seen_before - lateness)
        watermark_after = np.maximum(self.watermark_ms, running_max - lateness)
        if self.next_tick_ms is None:
            self.next_tick_ms = (int(watermark_after[0]) // tick + 1) * tick
        first_ms = self.next_tick_ms
        # Ticks passed once each event is in (those of first_ms, first_ms + tick, ... up to
        # its watermark). They pass on the arrival of the event whose watermark reaches them,
        # before it is folded: chunk c is the stretch of events between the (c-1)-th and
        # c-th such arrivals. Everything below is O(events), however far the watermark moves.
        passed = np.maximum(watermark_after - first_ms + tick, 0) // tick
        bounds = np.flatnonzero(np.diff(passed, prepend=0) > 0)
        chunk = np.searchsorted(bounds, np.arange(len(ts)), side="right")
        # Per bound, the first and last tick it passes.
        since = first_ms + np.concatenate([[0], passed[bounds]])[:-1] * tick
        until = first_ms + (passed[bounds] - 1) * tick
        fresh = self._dedup(events["event_id"], ~late, bounds, since, until)
        result.duplicates = int((~late & ~fresh).sum())
        keep = ~late & fresh
        result.accepted = int(keep.sum())
        last_ms = int(until[-1]) if len(bounds) else first_ms - tick
        firing = self._ticks_to_fire(ts[keep], first_ms, last_ms)
        accepted = events.filter(pl.Series(keep))
        last_passed = np.concatenate([[first_ms - tick], until])
        chunks = self._prepare(accepted, chunk[keep], last_passed)
        fired: list[TickRows] = []
        for c, (restarted, counts, described, prices) in enumerate(chunks):
            self.catalog.restart(*restarted)
            self.windows.add(*counts)
            self.uncounted.add(counts[1], counts[0])
            self.catalog.describe(*described)
            self.catalog.note_prices(*prices)
            if c < len(bounds):
                self.watermark_ms = int(watermark_after[bounds[c]])
                fired += self._pass(int(since[c]), int(until[c]), firing)
        result.features = frames(fired, self.partition)
        self.max_ts_ms = int(running_max[-1])
        self.watermark_ms = int(watermark_after[-1])
        if late.any():
            late_rows = events.filter(pl.Series(late)).select(
                "line_no",
                reason=pl.lit("late"),
                detail=pl.lit(f"older than the watermark (allowed lateness {lateness} ms)"),
            )
            result.rejected = _joined_rejects(result.rejected, late_rows)
        return result

    def advance_to(self, watermark_ms: int) -> list[pl.DataFrame]:
        """Feature rows of the ticks up to `watermark_ms` that the events have not reached
        (an idle partition following the wall clock), each tick published once this way.

        These ticks are provisional. They fire on a fork of the spread state and leave
        the watermark, dedup, windows and catalog where the events put them, so an event
        arriving later with a time before such a tick is judged as a replay would judge
        it, and the tick fires again, with every event, once the events' watermark passes
        it: the last row published per product and tick is the one a replay gives.
        """
        tick = self.config.tick_ms
        if self.next_tick_ms is None:
            return []
        if self._ahead is None:
            self._ahead = Lookahead(
                self.spread.fork(), self.next_tick_ms, self.peers, self.peers_hour_ms
            )
        ahead, last_ms = self._ahead, watermark_ms - watermark_ms % tick
        if last_ms < ahead.next_tick_ms:
            return []
        firing = self._ticks_to_fire(np.empty(0, np.int64), ahead.next_tick_ms, last_ms)
        fired = []
        for tick_ms in firing.tolist():
            # The row rule of `_fire`, on the lookahead's own bookkeeping.
            hour_ms = tick_ms - tick_ms % HOUR_MS
            changed = self._uncounted_slots(ahead.counted_until_ms, tick_ms)
            ahead.counted_until_ms = tick_ms
            everyone = tick_ms == hour_ms or ahead.peers_hour_ms != hour_ms
            if tick_ms <= self.provisional_until_ms or not (everyone or len(changed)):
                continue
            rows, peers = self._rows(
                tick_ms, changed, everyone, ahead.peers, ahead.spread, watermark_ms
            )
            if peers is not None:
                ahead.peers, ahead.peers_hour_ms = peers, hour_ms
            if rows.numbers.shape[1]:  # a whole hour may find nothing changed
                fired.append(rows)
                self.provisional_until_ms = tick_ms
        ahead.next_tick_ms = last_ms + tick
        return frames(fired, self.partition)

    def _split_future(
        self, events: pl.DataFrame, now_ms: int
    ) -> tuple[pl.DataFrame, pl.DataFrame | None]:
        """Events within the future margin of `now_ms`, and reject rows for the others.

        An event from a wrong clock must not move the watermark: one stamped years ahead
        would otherwise pass millions of ticks and make every real event after it late.
        """
        margin_ms = self.config.future_margin_ms
        ahead = events["ts_ms"] > now_ms + margin_ms
        if not ahead.any():
            return events, None
        rejected = events.filter(ahead).select(
            "line_no",
            reason=pl.lit("future"),
            detail=pl.lit(f"ts more than {margin_ms} ms after the ingest clock (future margin)"),
        )
        return events.filter(~ahead), rejected

    def _ticks_to_fire(self, accepted_ts: np.ndarray, first_ms: int, last_ms: int) -> np.ndarray:
        """The ticks in `first_ms..last_ms` that may publish rows, ascending.

        A row needs events in the product's 24 h window, so a tick more than a day after
        every accepted event publishes nothing: such ticks are passed without firing (see
        `_pass`). Earlier batches count through the latest event still in the catalog.
        The cost follows the events, not the span of event time the watermark crosses.
        """
        tick, reach_ms = self.config.tick_ms, WINDOWS_MS["24h"]
        if last_ms < first_ms:
            return np.empty(0, np.int64)
        ts = distinct(accepted_ts)
        lo = np.maximum(ts - ts % tick + tick, first_ms)  # the first tick after each event
        hi = ts + reach_ms - (ts + reach_ms) % tick  # the last tick within reach of it
        held = self.catalog.last_seen_ms[self.catalog.in_use]
        if len(held):
            latest = int(held.max()) + reach_ms
            lo, hi = np.append(first_ms, lo), np.append(latest - latest % tick, hi)
        hi = np.minimum(hi, last_ms)
        lo, hi = lo[lo <= hi], hi[lo <= hi]
        if len(lo) == 0:
            return np.empty(0, np.int64)
        # lo is sorted: a run of ticks starts where a tick lies beyond every range before.
        reach = np.maximum.accumulate(hi)
        starts = np.flatnonzero(np.concatenate([[True], lo[1:] > reach[:-1] + tick]))
        ends = np.append(starts[1:] - 1, len(lo) - 1)
        lo, hi = lo[starts], reach[ends]
        sizes = (hi - lo) // tick + 1
        offsets = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        ticks: np.ndarray = np.repeat(lo, sizes) + offsets * tick
        return ticks

    def _pass(self, first_ms: int, last_ms: int, firing: np.ndarray) -> list[TickRows]:
        """Pass the ticks `first_ms..last_ms`: fire those in `firing`, then do what the
        others would have done. They would have published nothing and moved no spread
        rows (those wait for a tick within a day of their events, which fires); pruning
        is monotone, so pruning once at the last tick equals pruning at each of them.
        Dedup generations are advanced by the caller, between the right events.
        """
        lo = int(np.searchsorted(firing, first_ms, side="left"))
        hi = int(np.searchsorted(firing, last_ms, side="right"))
        fired = [self._fire(t) for t in firing[lo:hi].tolist()]
        self.catalog.prune(last_ms - self.config.retention_ms)
        self.next_tick_ms = last_ms + self.config.tick_ms
        return fired

    def _dedup(
        self,
        event_ids: pl.Series,
        on_time: np.ndarray,
        bounds: np.ndarray,
        since: np.ndarray,
        until: np.ndarray,
    ) -> np.ndarray:
        """Mask of first sightings, checked in stretches between the ticks that rotate ids."""
        hashes = id_hashes(event_ids)
        fresh = np.zeros(len(hashes), dtype=bool)
        start, tick = 0, self.config.tick_ms
        for cut, first_ms, last_ms in zip(
            bounds.tolist(), since.tolist(), until.tolist(), strict=True
        ):
            if self.dedup.rotations(first_ms, last_ms, tick) > 0:
                part = np.flatnonzero(on_time[start:cut]) + start
                fresh[part] = self.dedup.first_seen(hashes[part])
                start = cut
            self.dedup.advance(first_ms, last_ms, tick)
        part = np.flatnonzero(on_time[start:]) + start
        fresh[part] = self.dedup.first_seen(hashes[part])
        return fresh

    def _prepare(
        self, accepted: pl.DataFrame, chunk: np.ndarray, last_passed: np.ndarray
    ) -> list[tuple[tuple[np.ndarray, ...], ...]]:
        """Vectorised work for a whole batch: slots, spread rows, and per chunk the products
        starting afresh, count partials, product descriptions and event prices to fold
        before that chunk's ticks pass.

        `last_passed[c]` is the last tick passed before chunk c (pruning happens at ticks).
        Spread rows can be folded at once because a tick only reads buckets before it, and
        every event of a later chunk is at or after that tick. Count rings cannot (a ring
        cell is reused for a newer bucket), so their partials are split by chunk.
        """
        n_chunks = len(last_passed)
        accepted = accepted.with_columns(chunk=pl.Series(chunk, dtype=pl.Int64))
        slots, restarts = self.catalog.assign(accepted, last_passed)
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
        order = np.argsort(restarts.chunk, kind="stable")
        fresh = np.searchsorted(restarts.chunk[order], np.arange(n_chunks + 1))
        restarted = [restarts.slot[order], restarts.first_seen_ms[order]]
        details = [
            described["slot"].to_numpy(),
            described["category"].to_numpy(),
            described["product_name"].to_numpy(),
        ]
        priced = accepted.filter(pl.col("price_idr") > 0)  # in arrival order
        prices = [priced["slot"].to_numpy(), priced["price_idr"].to_numpy()]
        paid = np.searchsorted(priced["chunk"].to_numpy(), np.arange(n_chunks + 1))
        return [
            (
                tuple(col[fresh[c] : fresh[c + 1]] for col in restarted),
                tuple(col[edges[c] : edges[c + 1]] for col in columns),
                tuple(col[info[c] : info[c + 1]] for col in details),
                tuple(col[paid[c] : paid[c + 1]] for col in prices),
            )
            for c in range(n_chunks)
        ]

    def _fire(self, tick_ms: int) -> TickRows:
        """The rows of one tick: for each active product whose windows gained an event
        since the previous tick, and at a whole hour for every active product whose windows
        lost an event during the hour (`CountWindows.slid`).

        The category medians of the peer columns are taken over every active product at
        the first tick of each hour that has one, and serve the rest of the hour, so a
        tick in between costs O(products with new events), and a tick without any costs
        next to nothing.
        """
        hour_ms = tick_ms - tick_ms % HOUR_MS
        changed = self._changed_slots(tick_ms)
        self.next_tick_ms = tick_ms + self.config.tick_ms
        everyone = tick_ms == hour_ms or self.peers_hour_ms != hour_ms
        if not everyone and len(changed) == 0:
            return no_rows(tick_ms, self.watermark_ms)
        rows, peers = self._rows(
            tick_ms, changed, everyone, self.peers, self.spread, self.watermark_ms, record=True
        )
        if peers is not None:
            self.peers, self.peers_hour_ms = peers, hour_ms
        return rows

    def _rows(
        self,
        tick_ms: int,
        changed: np.ndarray,
        everyone: bool,
        peers: PeerMedians | None,
        spread: Spread,
        watermark_ms: int,
        *,
        record: bool = False,
    ) -> tuple[TickRows, PeerMedians | None]:
        """The rows at a tick of the `changed` products (of every active one when
        `everyone`), and the hour's new category medians when `everyone` finds an active
        product. Reads the windows and catalog, changes nothing but the rows' history when
        `record` (real ticks, not provisional ones); `spread` moves to the tick only when
        there are rows."""
        since_ms = tick_ms - self.config.active_ms - HOUR_MS
        slots = self.catalog.candidates(since_ms, tick_ms, None if everyone else changed)
        if len(slots) == 0:
            return no_rows(tick_ms, watermark_ms), None
        windows = self.windows.windows(slots, tick_ms, list(WINDOWS_MS.values()))
        active = np.einsum("sa->s", windows[list(WINDOWS_MS).index("24h")]) > 0
        fresh: PeerMedians | None = None
        if everyone and active.any():
            # Taken at the hour's first tick with an active product: a tick without one
            # (fired, or passed without firing) leaves them to the next.
            counts = dict(zip(WINDOWS_MS, windows[:, active], strict=True))
            peers = fresh = PeerMedians.of(counts, self.catalog.category[slots[active]])
        if everyone:
            # Idle products only where an hour's sliding changed their windows.
            renewed = np.isin(slots, changed)
            idle = np.flatnonzero(active & ~renewed)
            if tick_ms % HOUR_MS == 0 and len(idle):
                renewed[idle] = self.windows.slid(slots[idle], tick_ms)
            active &= renewed
        keep = np.flatnonzero(active)
        # Rows are published sorted by product id.
        keep = keep[np.argsort(self.catalog.product_id[slots[keep]], kind="stable")]
        slots = slots[keep]
        counts = dict(zip(WINDOWS_MS, windows[:, keep], strict=True))
        rows = tick_rows(
            self.catalog.columns(slots),
            self.catalog.typical_price(slots),
            self.catalog.first_seen_ms[slots],
            counts,
            spread.at(tick_ms, len(self.catalog.in_use)),
            slots,
            tick_ms=tick_ms,
            watermark_ms=watermark_ms,
            peers=peers,
            history=self.catalog.history.lookup(slots, tick_ms),
        )
        if record:
            self.catalog.history.record(slots, tick_ms, rows.numbers)
        return rows, fresh

    def _changed_slots(self, tick_ms: int) -> np.ndarray:
        """Slots with folded events before `tick_ms` that no earlier tick counted (in the
        tick's last bucket, or older ones folded since the previous tick); those events
        are counted from now on, the later ones stay waiting."""
        _, slot = self.uncounted.take_before(tick_ms)
        return distinct(slot)

    def _uncounted_slots(self, since_ms: int, until_ms: int) -> np.ndarray:
        """Slots with folded events in buckets [since_ms, until_ms) no tick has counted
        (reads only: for provisional ticks)."""
        _, slot = self.uncounted.between(since_ms, until_ms)
        return distinct(slot)

    @property
    def last_tick_ms(self) -> int | None:
        """The last tick fired (None before the first events)."""
        return None if self.next_tick_ms is None else self.next_tick_ms - self.config.tick_ms

    @property
    def clock(self) -> dict[str, int | None]:
        """The event-time scalars that go with the state arrays."""
        return {
            "max_ts_ms": self.max_ts_ms,
            "watermark_ms": self.watermark_ms,
            "next_tick_ms": self.next_tick_ms,
        }

    def to_arrays(self) -> Arrays:
        """The whole window state as named arrays (`from_arrays` reads them back)."""
        peers: Arrays = {"hour_ms": optional_int(self.peers_hour_ms)}
        if self.peers is not None:
            peers |= nest("categories", strings_to_arrays(self.peers.categories.astype(object)))
            peers |= {f"median.{name}": v for name, v in self.peers.medians.items()}
        return (
            nest("windows", self.windows.to_arrays())
            | nest("spread", self.spread.to_arrays())
            | nest("catalog", self.catalog.to_arrays())
            | nest("dedup", self.dedup.to_arrays())
            | {
                "uncounted.slot": self.uncounted.columns[0].astype(np.int64),
                "uncounted.bucket_ms": self.uncounted.bucket_ms,
            }
            | nest("peers", peers)
        )

    @classmethod
    def from_arrays(
        cls,
        partition: int,
        config: WindowConfig,
        arrays: Arrays,
        *,
        max_ts_ms: int,
        watermark_ms: int,
        next_tick_ms: int | None,
    ) -> PartitionProcessor:
        """The processor whose `to_arrays` and `clock` these were, under the same config."""
        processor = cls(partition, config)
        processor.windows = CountWindows.from_arrays(config, section(arrays, "windows"))
        processor.spread = Spread.from_arrays(section(arrays, "spread"))
        processor.catalog = Catalog.from_arrays(
            processor.windows, config.retention_ms, section(arrays, "catalog")
        )
        processor.dedup = Deduplicator.from_arrays(
            config.dedup_horizon_ms, section(arrays, "dedup")
        )
        slot, bucket_ms = arrays["uncounted.slot"], arrays["uncounted.bucket_ms"]
        processor.uncounted = BucketQueue(bucket_ms, slot.astype(np.int64))
        peers = section(arrays, "peers")
        processor.peers_hour_ms = int_or_none(peers["hour_ms"])
        if "categories.offsets" in peers:
            medians = section(peers, "median")
            processor.peers = PeerMedians(
                arrays_to_strings(section(peers, "categories")).astype(str), medians
            )
        processor.max_ts_ms, processor.watermark_ms = int(max_ts_ms), int(watermark_ms)
        processor.next_tick_ms = None if next_tick_ms is None else int(next_tick_ms)
        return processor

    @property
    def state_bytes(self) -> int:
        return self.windows.nbytes + self.spread.nbytes + self.dedup.nbytes + self.catalog.nbytes


def _no_uncounted() -> BucketQueue:
    return BucketQueue(np.empty(0, np.int64), np.empty(0, np.int64))


def _joined_rejects(rejected: pl.DataFrame, more: pl.DataFrame | None) -> pl.DataFrame:
    """Both sets of reject rows in `line_no` order."""
    if more is None or more.height == 0:
        return rejected
    return pl.concat([rejected, more]).sort("line_no")
