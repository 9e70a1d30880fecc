"""Per-partition event-time count windows held in dense NumPy rings keyed by product slot.

Counts live at three resolutions (tick, hour, day), each a ring of buckets shared by all
products of the partition: `counts[slot, ring_index, action]`. A batch is merged by
adding its per-bucket partials into the touched cells, so a merge costs O(batch) and a
tick costs O(active products), never O(history).

A window of length W ending at tick T covers [ceil_to_resolution(T - W), T): it is
assembled from whole coarse buckets plus finer buckets for the part of the current hour
and day that has already passed, so no event at or after T is ever counted in it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from services.ingest.config import DAY_MS, HOUR_MS, WindowConfig
from services.ingest.sorted_arrays import distinct
from services.ingest.state_arrays import Arrays, nest, section
from shared.schema import ACTIONS

N_ACTIONS = len(ACTIONS)
RING_NAMES = ("fine", "hourly", "daily")


@dataclass
class Ring:
    """Buckets of one resolution: `counts[slot, bucket % n, action]`, `ids[bucket % n] = bucket`."""

    bucket_ms: int
    counts: np.ndarray
    ids: np.ndarray
    # At least every cell's count (the most a cell ever held): bounds window sums.
    peak: int = 0

    def __post_init__(self) -> None:
        self.peak = int(self.counts.max()) if self.counts.size else 0

    @classmethod
    def empty(cls, bucket_ms: int, n_buckets: int, capacity: int) -> Ring:
        counts = np.zeros((capacity, n_buckets, N_ACTIONS), dtype=np.uint32)
        return cls(bucket_ms, counts, np.full(n_buckets, -1, dtype=np.int64))

    def add(self, slots: np.ndarray, ts_ms: np.ndarray, actions: np.ndarray, n: np.ndarray) -> None:
        """Add event counts; a ring cell that held an older bucket is cleared first."""
        buckets = ts_ms // self.bucket_ms
        size = len(self.ids)
        for bucket in distinct(buckets).tolist():
            index = bucket % size
            if self.ids[index] != bucket:
                self.counts[:, index, :] = 0
                self.ids[index] = bucket
        cells = (slots, buckets % size, actions)
        np.add.at(self.counts, cells, n.astype(np.uint32))
        if len(slots):
            self.peak = max(self.peak, int(self.counts[cells].max()))

    def cells(self, first_bucket: int, end_bucket: int) -> np.ndarray:
        """Mask of ring cells holding a bucket in [first_bucket, end_bucket)."""
        if end_bucket - first_bucket > len(self.ids):
            raise ValueError("window longer than the ring")
        # A cell never filled (id -1) holds zeros, so it may match harmlessly.
        return (self.ids >= first_bucket) & (self.ids < end_bucket)

    def grow(self, capacity: int) -> None:
        extra = np.zeros((capacity - len(self.counts), *self.counts.shape[1:]), dtype=np.uint32)
        self.counts = np.concatenate([self.counts, extra])

    def clear_slots(self, slots: np.ndarray) -> None:
        self.counts[slots] = 0

    def to_arrays(self) -> Arrays:
        return {"counts": self.counts, "ids": self.ids}

    def restore(self, arrays: Arrays) -> None:
        """Take saved counts and ids; their bucket count must be this ring's."""
        counts, ids = arrays["counts"], arrays["ids"]
        if (
            counts.ndim != 3
            or counts.shape[1:] != self.counts.shape[1:]
            or ids.shape != self.ids.shape
        ):
            raise ValueError(f"ring of {self.bucket_ms} ms buckets: saved shape {counts.shape}")
        self.counts = counts.astype(np.uint32, copy=False)
        self.ids = ids.astype(np.int64, copy=False)
        self.peak = int(self.counts.max()) if self.counts.size else 0


class CountWindows:
    """Tick, hour and day rings for one partition, and window sums at a tick."""

    def __init__(self, config: WindowConfig, capacity: int = 1024) -> None:
        self.config = config
        fine_span = (HOUR_MS + config.allowed_lateness_ms) // config.tick_ms + 2
        # Each ring holds the buckets a window may read plus those events up to the
        # allowed lateness ahead of the tick may already fill (no power-of-two padding:
        # this is most of the memory per product).
        self.fine = Ring.empty(config.tick_ms, fine_span, capacity)
        self.hourly = Ring.empty(HOUR_MS, 26 + config.allowed_lateness_ms // HOUR_MS, capacity)
        self.daily = Ring.empty(DAY_MS, config.retention_ms // DAY_MS + 2, capacity)

    @property
    def rings(self) -> tuple[Ring, Ring, Ring]:
        return (self.fine, self.hourly, self.daily)

    def add(self, slots: np.ndarray, ts_ms: np.ndarray, actions: np.ndarray, n: np.ndarray) -> None:
        for ring in self.rings:
            ring.add(slots, ts_ms, actions, n)

    def grow(self, capacity: int) -> None:
        for ring in self.rings:
            ring.grow(capacity)

    def clear_slots(self, slots: np.ndarray) -> None:
        for ring in self.rings:
            ring.clear_slots(slots)

    def to_arrays(self) -> Arrays:
        return {
            name: array
            for ring, prefix in zip(self.rings, RING_NAMES, strict=True)
            for name, array in nest(prefix, ring.to_arrays()).items()
        }

    @classmethod
    def from_arrays(cls, config: WindowConfig, arrays: Arrays) -> CountWindows:
        windows = cls(config, capacity=0)
        for ring, prefix in zip(windows.rings, RING_NAMES, strict=True):
            ring.restore(section(arrays, prefix))
        if len({len(ring.counts) for ring in windows.rings}) != 1:
            raise ValueError("rings of different capacities")
        return windows

    def windows(self, slots: np.ndarray, tick_ms: int, lengths_ms: list[int]) -> np.ndarray:
        """Counts per action over [ceil(tick_ms - length), tick_ms) for `slots` and each
        length: shape (len(lengths_ms), len(slots), actions).

        Each window is a mask over the ring cells. The windows overlap (the current hour's
        fine buckets are in four of them), so each group of cells read by the same windows
        is summed once and added to each of them. The slots' rows of a ring are gathered
        once (a contiguous block per slot); a group's cells are runs of neighbouring cells,
        each summed from a view of them with `einsum`, several times faster than `sum`
        over the middle axis. Sums are in uint32 when no window sum can reach 2**32, which
        is exact and spares a widening pass. (Integer sums on purpose: a float matrix
        product would hand the work to BLAS threads that spin on the cores Polars needs.)
        """
        masks = np.array([self._cells(tick_ms, length) for length in lengths_ms])
        widest = int(masks.sum(axis=1).max()) if len(masks) else 0
        narrow = max(ring.peak for ring in self.rings) * widest < 2**32
        out = np.zeros((len(lengths_ms), len(slots), N_ACTIONS), np.uint32 if narrow else np.int64)
        # Bit w of a cell's signature: window w reads it.
        signature = (masks.astype(np.int64) << np.arange(len(lengths_ms))[:, None]).sum(axis=0)
        # Runs of neighbouring cells of a ring read by the same windows, per group.
        runs: dict[int, list[tuple[int, int, int]]] = {}
        flat, base = signature.tolist(), 0
        for r, ring in enumerate(self.rings):
            size, lo = len(ring.ids), 0
            while lo < size:
                group, hi = flat[base + lo], lo + 1
                while hi < size and flat[base + hi] == group:
                    hi += 1
                if group:
                    runs.setdefault(group, []).append((r, lo, hi))
                lo = hi
            base += size
        taken: dict[int, np.ndarray] = {}
        for group, spans in runs.items():
            part: np.ndarray | None = None
            for r, lo, hi in spans:
                if r not in taken:
                    taken[r] = np.take(self.rings[r].counts, slots, axis=0)
                summed = np.einsum("ska->sa", taken[r][:, lo:hi], dtype=out.dtype)
                part = summed if part is None else part + summed
            assert part is not None
            for w in range(len(lengths_ms)):
                if group >> w & 1:
                    out[w] += part
        return out.astype(np.int64)

    def slid(self, slots: np.ndarray, hour_ms: int) -> np.ndarray:
        """Mask of `slots` with events that left one of their windows over the hour up to
        the whole hour `hour_ms`: in [start(hour_ms - 1 h), start(hour_ms)) for the start
        of each window (5 min, 1 h, 6 h, 24 h, 7 d; see `_cells`).

        Those are the buckets whose leaving changed a product's features during the hour;
        every bucket read is still in its ring at that tick.
        """
        tick, before = self.config.tick_ms, hour_ms - HOUR_MS
        day_now, day_before = (
            -(-(hour_ms - 7 * DAY_MS) // DAY_MS),
            -(-(before - 7 * DAY_MS) // DAY_MS),
        )
        hour_now = hour_ms // HOUR_MS
        fine = self.fine.cells((before - tick) // tick, (hour_ms - tick) // tick)
        hourly = np.zeros(len(self.hourly.ids), bool)
        for hours_back in (2, 7, 25):  # the hours leaving the 1 h, 6 h and 24 h windows
            hourly |= self.hourly.cells(hour_now - hours_back, hour_now - hours_back + 1)
        daily = self.daily.cells(day_before, day_now)
        slid = np.zeros(len(slots), bool)
        for ring, cells in zip(self.rings, (fine, hourly, daily), strict=True):
            runs = _runs(cells)
            if runs:  # counts are never negative: a run with events sums above zero
                taken = np.take(ring.counts, slots, axis=0)
                for lo, hi in runs:
                    slid |= np.einsum("ska->s", taken[:, lo:hi], dtype=np.uint64) > 0
        return slid

    def _cells(self, tick_ms: int, length_ms: int) -> np.ndarray:
        """Which cells of (fine, hourly, daily) a window of `length_ms` ending at `tick_ms`
        reads: whole coarse buckets, plus finer ones for the passed part of the hour/day."""
        start = tick_ms - length_ms
        tick = self.config.tick_ms
        fine, hourly, daily = (np.zeros(len(ring.ids), bool) for ring in self.rings)
        if length_ms <= HOUR_MS:
            fine = self.fine.cells(start // tick, tick_ms // tick)
        else:
            hour_now = tick_ms // HOUR_MS
            fine = self.fine.cells(hour_now * HOUR_MS // tick, tick_ms // tick)
            if length_ms <= DAY_MS:
                hourly = self.hourly.cells(-(-start // HOUR_MS), hour_now)
            else:
                day_now = tick_ms // DAY_MS
                hourly = self.hourly.cells(day_now * DAY_MS // HOUR_MS, hour_now)
                daily = self.daily.cells(-(-start // DAY_MS), day_now)
        return np.concatenate([fine, hourly, daily])

    @property
    def nbytes(self) -> int:
        return sum(ring.counts.nbytes + ring.ids.nbytes for ring in self.rings)


def _runs(cells: np.ndarray) -> list[tuple[int, int]]:
    """The runs of neighbouring True cells of a mask, as [lo, hi) ranges."""
    read = np.flatnonzero(cells)
    if len(read) == 0:
        return []
    cuts = np.flatnonzero(np.diff(read) != 1) + 1
    los, his = (
        read[np.append(0, cuts)].tolist(),
        (read[np.append(cuts - 1, len(read) - 1)] + 1).tolist(),
    )
    return list(zip(los, his, strict=True))
