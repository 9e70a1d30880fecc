"""Who and where: distinct creators, regions and platforms per product over event time.

Each event gives up to three (bucket_ms, pair, n) rows, one per dimension, where a pair
packs the product slot and a key as `slot << 40 | key`: creators as 40-bit hashes of
their ids, regions and platforms as codes that sort like their names. Rows wait until a
tick passes their bucket, then are summed into one sorted table per hour.

Spread at tick T covers the closed hours [ceil_hour(T - W), hour(T)) plus the buckets of
the current hour before T, mirroring the count windows. Per-slot results over the closed
hours are computed only when that set of hours changes (about twice an hour); a tick in
between recomputes only the slots with events in the current hour. A tick therefore costs
O(current hour + touched products), not O(a day of rows).
"""

from __future__ import annotations

import copy
import functools
import itertools
from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute  # Array.take needs it; loading it here keeps it off the first tick

from services.ingest.bucket_queue import BucketQueue
from services.ingest.config import DAY_MS, HOUR_MS
from services.ingest.sorted_arrays import distinct, distinct_sorted, lexsorted_order, merge
from services.ingest.state_arrays import Arrays, nest, section
from shared.schema import PLATFORMS

KEY_BITS = 40
KEY_MASK = np.uint64((1 << KEY_BITS) - 1)
TOP_REGIONS = 5
# Region codes "ID-XY" map to 26 * X + Y, which sorts like the code itself.
REGION_CODES = [f"ID-{chr(65 + i // 26)}{chr(65 + i % 26)}" for i in range(26 * 26)]
# The Enum's physical code of a region is its index in REGION_CODES.
_REGION_ENUM = pl.Enum(REGION_CODES)
# Platform bits in name order, so a bit mask decodes to an already sorted list.
PLATFORMS_SORTED = sorted(PLATFORMS)
_PLATFORM_BIT = np.array([PLATFORMS_SORTED.index(p) for p in PLATFORMS], dtype=np.uint64)
_PLATFORM_NAMES = pa.array(PLATFORMS_SORTED, pa.large_string())
_REGION_NAMES = pa.array(REGION_CODES, pa.large_string())
_POPCOUNT = np.array([bin(m).count("1") for m in range(1 << len(PLATFORMS))], dtype=np.int64)


def aggregate(pair: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sum `n` per distinct pair; the result is sorted by pair."""
    if len(pair) == 0:
        return pair, n
    order = np.argsort(pair, kind="stable")
    pair, n = pair[order], n[order]
    starts = np.flatnonzero(np.concatenate([[True], pair[1:] != pair[:-1]]))
    return pair[starts], np.add.reduceat(n, starts)


@dataclass
class Rows:
    """Spread rows of one dimension: `pair` (slot << 40 | key), the hours it was seen in each
    window, and for counted dimensions (regions) the summed event counts."""

    pair: np.ndarray
    h24: np.ndarray  # hours present, uint8
    h6: np.ndarray
    n24: np.ndarray | None = None
    n6: np.ndarray | None = None

    @classmethod
    def empty(cls, counted: bool) -> Rows:
        none = np.empty(0, np.uint8)
        n = np.empty(0, np.int64) if counted else None
        return cls(np.empty(0, np.uint64), none, none, n, n)

    @functools.cached_property
    def slot(self) -> np.ndarray:
        """(Kept: the closed rows' slots are read at every tick that touches regions.)"""
        return (self.pair >> np.uint64(KEY_BITS)).astype(np.int64)

    @property
    def key(self) -> np.ndarray:
        return (self.pair & KEY_MASK).astype(np.int64)

    def take(self, mask: np.ndarray) -> Rows:
        """The rows where `mask` is set (positions found once, then gathered per array)."""
        at = np.flatnonzero(mask) if mask.dtype == np.bool_ else mask
        if self.n24 is None or self.n6 is None:
            return Rows(self.pair[at], self.h24[at], self.h6[at], None, None)
        return Rows(self.pair[at], self.h24[at], self.h6[at], self.n24[at], self.n6[at])

    @classmethod
    def combine(cls, parts: list[Rows], counted: bool, signed: bool = False) -> Rows:
        """Sum rows with the same pair (`signed`: some parts subtract, see `_delta_rows`;
        the hour flags then come out as the unsigned sums of a plain combine)."""
        pair = np.concatenate([p.pair for p in parts]) if parts else np.empty(0, np.uint64)
        if len(pair) == 0:
            return cls.empty(counted)
        order = np.argsort(pair, kind="stable")
        pair = pair[order]
        starts = np.flatnonzero(np.concatenate([[True], pair[1:] != pair[:-1]]))

        def summed(name: str) -> np.ndarray:
            values = np.concatenate([getattr(p, name) for p in parts])
            if signed and name in ("h24", "h6"):
                return np.add.reduceat(values.astype(np.int64)[order], starts).astype(np.uint64)
            return np.add.reduceat(values[order], starts)

        if not counted:
            return cls(pair[starts], summed("h24"), summed("h6"))
        return cls(pair[starts], summed("h24"), summed("h6"), summed("n24"), summed("n6"))

    def to_arrays(self) -> Arrays:
        arrays = {"pair": self.pair, "h24": self.h24, "h6": self.h6}
        if self.n24 is not None and self.n6 is not None:
            arrays |= {"n24": self.n24, "n6": self.n6}
        return arrays

    @classmethod
    def from_arrays(cls, arrays: Arrays, counted: bool) -> Rows:
        # Saved dtypes are kept: summed hour flags are wider than uint8 (reduceat widens).
        rows = cls(
            arrays["pair"].astype(np.uint64, copy=False),
            arrays["h24"],
            arrays["h6"],
            arrays["n24"] if counted else None,
            arrays["n6"] if counted else None,
        )
        if len({len(a) for a in rows.to_arrays().values()}) > 1:
            raise ValueError("spread rows of different lengths")
        return rows

    @property
    def nbytes(self) -> int:
        arrays = (self.pair, self.h24, self.h6, self.n24, self.n6)
        return sum(a.nbytes for a in arrays if a is not None)


class Dimension:
    """Rows of one dimension: pending, per closed or current hour, and summed over windows.

    Creators and platforms only need presence (distinct keys), so only regions keep counts.
    """

    def __init__(self, counted: bool) -> None:
        self.counted = counted
        # Rows waiting for a tick: bucket, pair (and n if counted). They are most of the
        # spread memory (up to a tick plus the lateness of events).
        self.pending = _no_pending(counted)
        self.hours: dict[int, tuple[np.ndarray, np.ndarray | None]] = {}  # hour_ms -> pair, n
        self.closed = Rows.empty(counted)  # summed over the closed hours of the windows
        self.closed_hours: tuple[tuple[int, ...], tuple[int, ...]] = ((), ())
        # Pairs the last `advance` added to the tick's hour (for presence dimensions only
        # those not there before), and whether it also moved rows into an earlier hour.
        self.fresh = np.empty(0, np.uint64)
        self.moved_earlier = False
        # The closed rows the last change of closed hours touched (None: all of them).
        self.change: Change | None = None

    def add(self, bucket_ms: np.ndarray, pair: np.ndarray, n: np.ndarray) -> None:
        """Queue rows (their counts only if counted) until a tick passes their bucket."""
        if len(pair):
            self.pending.add(bucket_ms, pair, *([n] if self.counted else []))

    def advance(self, tick_ms: int, day_hours: tuple[int, ...], six_hours: tuple[int, ...]) -> bool:
        """Move rows of buckets before `tick_ms` into their hours; resum the closed hours if
        the windows' set of closed hours changed (returns whether it did)."""
        hour_now = tick_ms - tick_ms % HOUR_MS
        self.fresh, self.moved_earlier = np.empty(0, np.uint64), False
        if len(self.pending):
            bucket, pair, *counts = self.pending.take_before(tick_ms)
            n = counts[0] if counts else None
            cut = len(bucket)
            hour = bucket - bucket % HOUR_MS
            edges = np.flatnonzero(np.diff(hour)) + 1
            bounds = [0, *edges.tolist(), cut] if cut else []
            for lo, hi in itertools.pairwise(bounds):
                fresh = self._add_hour(int(hour[lo]), pair[lo:hi], None if n is None else n[lo:hi])
                if hour[lo] == hour_now:
                    self.fresh = fresh
                else:
                    self.moved_earlier = True
        if (day_hours, six_hours) == self.closed_hours:
            self._drop_old_hours(tick_ms)
            return False
        self.closed, self.change = self._closed(day_hours, six_hours)
        self.closed_hours = (day_hours, six_hours)
        self._drop_old_hours(tick_ms)
        return True

    def _drop_old_hours(self, tick_ms: int) -> None:
        oldest_ms = tick_ms - DAY_MS - HOUR_MS
        if min(self.hours, default=oldest_ms) < oldest_ms:
            for h in [h for h in self.hours if h < oldest_ms]:
                del self.hours[h]

    def _closed(
        self, day_hours: tuple[int, ...], six_hours: tuple[int, ...]
    ) -> tuple[Rows, Change | None]:
        """The rows summed over the new closed hours, and the rows that changed (None:
        all of them, after a full resum).

        Hours already closed never gain rows (rows moved at a tick are of buckets at or
        after the previous tick), so when the windows slide by an hour or two the sums
        are updated with those hours' rows alone: the same rows a full resum gives.
        """
        old_day, old_six = (set(hours) for hours in self.closed_hours)
        day, six = set(day_hours), set(six_hours)
        moved = sorted((day ^ old_day) | (six ^ old_six))
        if len(moved) > 2 or not old_day:
            parts = [self._hour_rows(h, in_six=h in six) for h in day_hours if h in self.hours]
            return Rows.combine(parts, self.counted), None
        deltas = []
        for h in moved:
            if h in self.hours:
                pair, n = self.hours[h]
                d24, d6 = int(h in day) - int(h in old_day), int(h in six) - int(h in old_six)
                deltas.append(_delta_rows(pair, n, d24, d6))
        if not deltas:
            return self.closed, Change.none()
        return _updated(self.closed, deltas)

    def _add_hour(self, hour_ms: int, pair: np.ndarray, n: np.ndarray | None) -> np.ndarray:
        """Fold rows into an hour; returns the pairs new to it (all of them if counted)."""
        old_pair, old_n = self.hours.get(hour_ms, (np.empty(0, np.uint64), None))
        if not self.counted:
            new = distinct(pair)
            if len(old_pair):
                at = np.minimum(np.searchsorted(old_pair, new), len(old_pair) - 1)
                new = new[old_pair[at] != new]
            self.hours[hour_ms] = (merge(old_pair, new), None)
            return new
        assert n is not None
        self.hours[hour_ms] = aggregate(
            np.concatenate([old_pair, pair]), n if old_n is None else np.concatenate([old_n, n])
        )
        return pair

    def fork(self) -> Dimension:
        """A copy that advances on its own (arrays are replaced, never written in place)."""
        fork = copy.copy(self)
        fork.pending, fork.hours = copy.copy(self.pending), dict(self.hours)
        return fork

    def _hour_rows(self, hour_ms: int, in_six: bool) -> Rows:
        pair, n = self.hours[hour_ms]
        one = np.ones(len(pair), np.uint8)
        six = one if in_six else np.zeros(len(pair), np.uint8)
        if n is None:
            return Rows(pair, one, six)
        return Rows(pair, one, six, n, n if in_six else np.zeros(len(pair), np.int64))

    def current(self, hour_ms: int) -> Rows:
        """Rows of the current hour (buckets before the last tick), counted in both windows."""
        if hour_ms not in self.hours:
            return Rows.empty(self.counted)
        return self._hour_rows(hour_ms, in_six=True)

    def to_arrays(self) -> Arrays:
        """Pending rows in bucket order, the hours as concatenated rows with their
        lengths, and the closed sums."""

        def joined(parts: list[np.ndarray], dtype: type) -> np.ndarray:
            return np.concatenate(parts) if parts else np.empty(0, dtype)

        hours = sorted(self.hours)
        arrays = {
            "pending_bucket_ms": self.pending.bucket_ms,
            "pending_pair": self.pending.columns[0],
            "hour_ms": np.array(hours, dtype=np.int64),
            "hour_rows": np.array([len(self.hours[h][0]) for h in hours], dtype=np.int64),
            "hour_pair": joined([self.hours[h][0] for h in hours], np.uint64),
            "closed_day_hours_ms": np.array(self.closed_hours[0], dtype=np.int64),
            "closed_six_hours_ms": np.array(self.closed_hours[1], dtype=np.int64),
        }
        if self.counted:
            # Counted dimensions keep an array of counts beside every pair array.
            arrays["pending_n"] = self.pending.columns[1]
            arrays["hour_n"] = joined(
                [n for h in hours if (n := self.hours[h][1]) is not None], np.int64
            )
        return arrays | nest("closed", self.closed.to_arrays())

    @classmethod
    def from_arrays(cls, counted: bool, arrays: Arrays) -> Dimension:
        dimension = cls(counted)
        bucket = arrays["pending_bucket_ms"].astype(np.int64, copy=False)
        pair = arrays["pending_pair"].astype(np.uint64, copy=False)
        n = arrays["pending_n"].astype(np.int64, copy=False) if counted else None
        if n is not None and len(n) != len(pair):
            raise ValueError("pending spread rows of different lengths")
        # Older checkpoints saved them in arrival order: sorted stably on the way in.
        dimension.pending = BucketQueue(bucket, pair, *([] if n is None else [n]))
        hour_ms, rows = arrays["hour_ms"].tolist(), arrays["hour_rows"].astype(np.int64)
        hour_pair = arrays["hour_pair"].astype(np.uint64, copy=False)
        hour_n = arrays["hour_n"].astype(np.int64, copy=False) if counted else None
        edges = np.concatenate([[0], np.cumsum(rows)]).tolist()
        if len(rows) != len(hour_ms) or edges[-1] != len(hour_pair):
            raise ValueError("spread hours do not match their rows")
        for hour, lo, hi in zip(hour_ms, edges[:-1], edges[1:], strict=True):
            dimension.hours[hour] = (hour_pair[lo:hi], None if hour_n is None else hour_n[lo:hi])
        dimension.closed = Rows.from_arrays(section(arrays, "closed"), counted)
        dimension.closed_hours = (
            tuple(arrays["closed_day_hours_ms"].tolist()),
            tuple(arrays["closed_six_hours_ms"].tolist()),
        )
        return dimension

    @property
    def nbytes(self) -> int:
        held = sum(p.nbytes + (0 if n is None else n.nbytes) for p, n in self.hours.values())
        return held + self.pending.nbytes + self.closed.nbytes


def _no_pending(counted: bool) -> BucketQueue:
    n = [np.empty(0, np.int64)] if counted else []
    return BucketQueue(np.empty(0, np.int64), np.empty(0, np.uint64), *n)


@dataclass
class Change:
    """Distinct pairs whose closed rows a change of closed hours touched, with their hour
    flags before and after (0 where the pair had, or has, no closed row), as int64."""

    pair: np.ndarray
    h24_before: np.ndarray
    h6_before: np.ndarray
    h24_after: np.ndarray
    h6_after: np.ndarray

    @classmethod
    def none(cls) -> Change:
        empty = np.empty(0, np.int64)
        return cls(np.empty(0, np.uint64), empty, empty, empty, empty)

    @property
    def slot(self) -> np.ndarray:
        return (self.pair >> np.uint64(KEY_BITS)).astype(np.int64)

    @property
    def key(self) -> np.ndarray:
        return (self.pair & KEY_MASK).astype(np.int64)


def _updated(closed: Rows, deltas: list[Rows]) -> tuple[Rows, Change]:
    """`closed` plus the signed `deltas` (see `_delta_rows`), rows left with no hour
    dropped: what a signed `Rows.combine` of them all gives, with the same dtypes, but
    each delta row is added in place or inserted where it sorts (the closed rows are
    sorted and distinct), instead of a sort and a sum over every closed row. Also the
    pairs touched, with their flags before and after."""
    fields = ["h24", "h6"] if closed.n24 is None else ["h24", "h6", "n24", "n6"]
    pair = np.concatenate([d.pair for d in deltas])
    if len(pair) + len(closed.pair) == 0:
        return Rows.empty(closed.n24 is not None), Change.none()
    change = {f: np.concatenate([getattr(d, f) for d in deltas]).astype(np.int64) for f in fields}
    if len(deltas) > 1 and len(pair):
        order = np.argsort(pair, kind="stable")
        pair = pair[order]
        starts = np.flatnonzero(np.concatenate([[True], pair[1:] != pair[:-1]]))
        pair = pair[starts]
        change = {f: np.add.reduceat(v[order], starts) for f, v in change.items()}
    at = np.searchsorted(closed.pair, pair)
    found = np.zeros(len(pair), bool)
    inside = at < len(closed.pair)
    found[inside] = closed.pair[at[inside]] == pair[inside]
    old_at, new = at[found], ~found
    # Where each row lands: a new pair goes before the closed row it sorts before.
    new_at = at[new] + np.arange(int(new.sum()))
    old_pos = old_at + np.searchsorted(at[new], old_at, side="right")
    # An hour only leaving inserts nothing, an hour only entering drops nothing: those
    # passes over every closed row are skipped then.
    stays = None
    if len(new_at):
        stays = np.ones(len(closed.pair) + len(new_at), bool)
        stays[new_at] = False
    before, after, summed = {}, {}, {}
    for f in fields:
        old = getattr(closed, f)
        if stays is None:
            values = old.astype(np.int64)
        else:
            values = np.empty(len(stays), np.int64)
            values[stays] = old
        was = np.zeros(len(pair), np.int64)
        was[found] = old[old_at]
        now = was + change[f]
        values[new_at] = now[new]
        values[old_pos] = now[found]
        before[f], after[f], summed[f] = was, now, values
    merged = closed.pair
    if stays is not None:
        merged = np.empty(len(stays), np.uint64)
        merged[stays] = closed.pair
        merged[new_at] = pair[new]
    flips = Change(pair, before["h24"], before["h6"], after["h24"], after["h6"])
    if (after["h24"] > 0).all():
        kept = summed
    else:
        keep = np.flatnonzero(summed["h24"] > 0)
        merged, kept = merged[keep], {f: v[keep] for f, v in summed.items()}
    h24, h6 = (kept[f].astype(np.uint64) for f in ("h24", "h6"))
    if closed.n24 is None:
        return Rows(merged, h24, h6), flips
    return Rows(merged, h24, h6, kept["n24"], kept["n6"]), flips


def _delta_rows(pair: np.ndarray, n: np.ndarray | None, d24: int, d6: int) -> Rows:
    """An hour's rows entering (+1) or leaving (-1) the 24 h and 6 h sums, as int64."""
    ones = np.ones(len(pair), np.int64)
    if n is None:
        return Rows(pair, ones * d24, ones * d6)
    return Rows(pair, ones * d24, ones * d6, n * d24, n * d6)


REGION_FEATURES = ("regions_24h", "region_entropy_24h", "top_regions")


@dataclass
class SlotSpread:
    """Spread features per slot (arrays indexed by slot)."""

    creators_24h: np.ndarray
    creators_6h: np.ndarray
    new_6h: np.ndarray
    regions_24h: np.ndarray
    region_entropy_24h: np.ndarray
    top_regions: np.ndarray  # (slots, 5) region codes, -1 = none
    platform_mask: np.ndarray

    @classmethod
    def zeros(cls, capacity: int) -> SlotSpread:
        return cls(
            np.zeros(capacity, np.int32),
            np.zeros(capacity, np.int32),
            np.zeros(capacity, np.int32),
            np.zeros(capacity, np.int32),
            np.zeros(capacity, np.float64),
            np.full((capacity, TOP_REGIONS), -1, np.int16),  # region codes < 26 * 26
            np.zeros(capacity, np.int32),
        )

    def reset(self, slots: np.ndarray, names: tuple[str, ...] | None = None) -> None:
        """Set `slots` to the values of a slot without rows (only the features `names`)."""
        blank = SlotSpread.zeros(1)
        for name in names or self.__dataclass_fields__:
            getattr(self, name)[slots] = getattr(blank, name)[0]

    def copy(self) -> SlotSpread:
        return SlotSpread(*(getattr(self, f).copy() for f in self.__dataclass_fields__))

    def to_arrays(self) -> Arrays:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    @classmethod
    def from_arrays(cls, arrays: Arrays) -> SlotSpread:
        capacity = len(arrays["creators_24h"])
        zeros = cls.zeros(capacity)
        for name in cls.__dataclass_fields__:
            like = getattr(zeros, name)
            if arrays[name].shape != like.shape:
                raise ValueError(f"spread feature {name}: shape {arrays[name].shape}")
            setattr(zeros, name, arrays[name].astype(like.dtype, copy=False))
        return zeros

    def fill(self, creators: Rows, regions: Rows, platforms: Rows) -> None:
        """Set the features of every slot that has rows (others are left as they are).
        Rows come sorted by pair, as every kept `Rows` is, so by slot too."""
        slot = creators.slot
        touched = distinct_sorted(slot)
        recent = creators.h6 > 0
        self.creators_24h[touched] = self._count(slot)[touched]
        self.creators_6h[touched] = self._count(slot[recent])[touched]
        self.new_6h[touched] = self._count(slot[recent & (creators.h24 == creators.h6)])[touched]
        self.fill_regions(regions)
        slot = platforms.slot
        touched = distinct_sorted(slot)
        self.platform_mask[touched] = 0
        for bit in range(len(PLATFORMS_SORTED)):
            has = self._count(slot[platforms.key == bit])[touched] > 0
            self.platform_mask[touched] |= has.astype(np.int64) << bit

    def flip_creators(self, change: Change) -> None:
        """Move the creator counts by the flags `change` flipped: what refilling its slots
        from the updated rows gives (a creator counts in 24 h while it has a closed row,
        in 6 h while its 6 h flag is set, and as new while both flags are equal)."""
        slot = change.slot
        before_6h, after_6h = change.h6_before > 0, change.h6_after > 0
        for counts, was, now in (
            (self.creators_24h, change.h24_before > 0, change.h24_after > 0),
            (self.creators_6h, before_6h, after_6h),
            (
                self.new_6h,
                before_6h & (change.h24_before == change.h6_before),
                after_6h & (change.h24_after == change.h6_after),
            ),
        ):
            counts += self._count(slot[now & ~was]) - self._count(slot[was & ~now])

    def flip_platforms(self, change: Change) -> None:
        """Set and clear the platform bits of the rows `change` added and dropped."""
        gone = (change.h24_before > 0) & (change.h24_after == 0)
        came = (change.h24_before == 0) & (change.h24_after > 0)
        slot, bit = change.slot, np.int64(1) << change.key
        np.bitwise_and.at(self.platform_mask, slot[gone], ~bit[gone])
        np.bitwise_or.at(self.platform_mask, slot[came], bit[came])

    def add_hour(self, closed: Rows, current: Rows) -> None:
        """Fold the current hour's creator rows into values filled from the `closed` rows.

        Equal to filling from the combined rows: a creator not among the closed rows adds
        one to 24 h, 6 h and new; one already there but outside 6 h adds one to 6 h only.
        """
        if len(current.pair) == 0:
            return
        at = np.minimum(np.searchsorted(closed.pair, current.pair), len(closed.pair) - 1)
        if len(closed.pair):
            found = closed.pair[at] == current.pair
            in_six = found & (closed.h6[at] > 0)
        else:
            found = in_six = np.zeros(len(current.pair), bool)
        slot = current.slot
        fresh = self._count(slot[~found])
        self.creators_24h += fresh
        self.new_6h += fresh
        self.creators_6h += self._count(slot[~in_six])

    def add_platforms(self, current: Rows) -> None:
        """OR the current hour's platforms into the masks (presence only)."""
        np.bitwise_or.at(self.platform_mask, current.slot, np.int64(1) << current.key)

    def _count(self, slot: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        return np.bincount(slot, weights, minlength=len(self.creators_24h))

    def fill_regions(self, regions: Rows) -> None:
        """Set the region features of every slot that has region rows (sorted by pair)."""
        assert regions.n24 is not None and regions.n6 is not None, "region rows are counted"
        slot = regions.slot
        if len(slot) == 0:
            return
        # Runs of one slot each (rows sorted by pair are sorted by slot).
        starts = np.flatnonzero(np.concatenate([[True], slot[1:] != slot[:-1]]))
        lengths = np.diff(np.append(starts, len(slot)))
        touched = slot[starts]
        self.regions_24h[touched] = lengths
        n24, n6 = regions.n24, regions.n6
        p = n24 / np.repeat(np.add.reduceat(n24, starts), lengths)
        entropy = self._count(slot, p * (np.log(p) / np.log(2.0)))
        self.region_entropy_24h[touched] = -entropy[touched]
        # Top regions: most events in 6 h, then in 24 h, then by code (= name order). The
        # slot leads the order, so the ranked rows keep the runs of `slot`.
        order = lexsorted_order([regions.key, int(n24.max()) - n24, int(n6.max()) - n6, slot])
        rank = np.arange(len(slot)) - np.repeat(starts, lengths)
        top = rank < TOP_REGIONS
        self.top_regions[touched] = -1
        self.top_regions[slot[top], rank[top]] = regions.key[order][top]


DIMENSIONS = ("creators", "regions", "platforms")


class Spread:
    """Sparse spread state of one partition, three dimensions."""

    def __init__(self, capacity: int = 1024) -> None:
        self.creators, self.regions = Dimension(counted=False), Dimension(counted=True)
        self.platforms = Dimension(counted=False)
        self.closed = SlotSpread.zeros(capacity)  # over the closed hours only
        self.latest: SlotSpread | None = None  # at the last tick

    @property
    def dimensions(self) -> tuple[Dimension, Dimension, Dimension]:
        return (self.creators, self.regions, self.platforms)

    def fork(self) -> Spread:
        """A copy that ticks on without changing this one (provisional ticks)."""
        fork = copy.copy(self)
        fork.creators, fork.regions, fork.platforms = (d.fork() for d in self.dimensions)
        return fork

    def grow(self, capacity: int) -> None:
        self.latest = None
        old = self.closed
        self.closed = SlotSpread.zeros(capacity)
        for name in old.__dataclass_fields__:
            getattr(self.closed, name)[: len(old.creators_24h)] = getattr(old, name)

    def add(self, events: pl.DataFrame) -> None:
        """Fold accepted events with `slot`, `bucket_ms`, `count` and the spread columns."""
        bucket = events["bucket_ms"].to_numpy()
        slot = events["slot"].to_numpy().astype(np.uint64) << np.uint64(KEY_BITS)
        n = events["count"].to_numpy()
        creator = events["creator_id"]
        has = creator.is_not_null().to_numpy()
        key = creator.hash(seed=0xC0FFEE).to_numpy() & KEY_MASK
        self.creators.add(bucket[has], slot[has] | key[has], n[has])
        region = events["region"]
        has = region.is_not_null().to_numpy()
        if has.any():
            key = region.filter(pl.Series(has)).cast(_REGION_ENUM).to_physical().to_numpy()
            self.regions.add(bucket[has], slot[has] | key.astype(np.uint64), n[has])
        key = _PLATFORM_BIT[events["platform"].to_physical().to_numpy()]
        self.platforms.add(bucket, slot | key, n)

    def at(self, tick_ms: int, capacity: int) -> SlotSpread:
        """Spread features of every slot at `tick_ms` (rows of buckets before it only).

        Within an hour, a tick starts from the previous tick's features and folds in only
        the rows this tick moved; when the closed hours change, it starts from them.
        """
        if len(self.closed.creators_24h) < capacity:
            self.grow(capacity)
        hour_now = tick_ms - tick_ms % HOUR_MS
        day_hours = tuple(range(_ceil_hour(tick_ms - DAY_MS), hour_now, HOUR_MS))
        six_hours = tuple(range(_ceil_hour(tick_ms - 6 * HOUR_MS), hour_now, HOUR_MS))
        changed = [d.advance(tick_ms, day_hours, six_hours) for d in self.dimensions]
        if any(changed):
            self._refill(
                [
                    d.change if c else Change.none()
                    for d, c in zip(self.dimensions, changed, strict=True)
                ]
            )
        if any(changed) or self.latest is None or any(d.moved_earlier for d in self.dimensions):
            # The whole current hour on top of the closed hours.
            base = self.closed
            creators, platforms = self.creators.current(hour_now), self.platforms.current(hour_now)
            region_slots = distinct_sorted(self.regions.current(hour_now).slot)
        else:
            # Only what this tick added to the current hour on top of the last tick.
            base = self.latest
            creators, platforms = self._fresh(self.creators), self._fresh(self.platforms)
            region_slots = distinct(self._fresh(self.regions).slot)
        out = base.copy()
        # Creators and platforms add up row by row; regions need every row of a touched
        # slot (entropy, ranking), so those slots are recomputed from their rows.
        out.add_hour(self.creators.closed, creators)
        out.add_platforms(platforms)
        if len(region_slots):
            touched = np.zeros(len(out.creators_24h), bool)
            touched[region_slots] = True
            closed = self.regions.closed.take(touched[self.regions.closed.slot])
            current = self.regions.current(hour_now)
            current = current.take(touched[current.slot])
            out.fill_regions(Rows.combine([closed, current], counted=True))
        self.latest = out
        return out

    def _refill(self, changes: list[Change | None]) -> None:
        """Features over the closed hours after they changed (`changes` of the creators,
        regions and platforms): of every slot after a full resum; else creators and
        platforms moved by the flags their changed rows flipped, and the regions of the
        slots whose region rows changed recomputed from their rows. The same values as a
        full fill, on a copy, as a fork may share the old ones."""
        if any(change is None for change in changes):
            self.closed = SlotSpread.zeros(len(self.closed.creators_24h))
            self.closed.fill(*(d.closed for d in self.dimensions))
            return
        creators, regions, platforms = changes
        closed = self.closed.copy()
        assert creators is not None and regions is not None and platforms is not None
        closed.flip_creators(creators)
        closed.flip_platforms(platforms)
        slots = distinct(regions.slot)
        if len(slots):
            mask = np.zeros(len(closed.creators_24h), bool)
            mask[slots] = True
            closed.reset(slots, REGION_FEATURES)
            closed.fill_regions(self.regions.closed.take(mask[self.regions.closed.slot]))
        self.closed = closed

    @staticmethod
    def _fresh(dimension: Dimension) -> Rows:
        """The pairs the last tick added to the current hour, as rows of that hour."""
        one = np.ones(len(dimension.fresh), np.uint8)
        return Rows(dimension.fresh, one, one)

    def to_arrays(self) -> Arrays:
        """Everything but the last tick's features: a cache a restored worker recomputes."""
        arrays = nest("closed", self.closed.to_arrays())
        for name, dimension in zip(DIMENSIONS, self.dimensions, strict=True):
            arrays |= nest(name, dimension.to_arrays())
        return arrays

    @classmethod
    def from_arrays(cls, arrays: Arrays) -> Spread:
        spread = cls(capacity=0)
        spread.creators, spread.regions, spread.platforms = (
            Dimension.from_arrays(name == "regions", section(arrays, name)) for name in DIMENSIONS
        )
        spread.closed = SlotSpread.from_arrays(section(arrays, "closed"))
        return spread

    @property
    def nbytes(self) -> int:
        kept = [self.closed] if self.latest is None else [self.closed, self.latest]
        cached: int = sum(getattr(c, f).nbytes for c in kept for f in c.__dataclass_fields__)
        return cached + sum(d.nbytes for d in self.dimensions)


def popcount(masks: np.ndarray) -> np.ndarray:
    """Number of platforms per bit mask."""
    counts: np.ndarray = _POPCOUNT[masks]
    return counts


def platform_lists(masks: np.ndarray) -> pl.Series:
    """Sorted platform names per bit mask: gathered from the lists of every mask."""
    return _every_platform_list().gather(masks)


@functools.cache
def _every_platform_list() -> pl.Series:
    """The platform list of each of the 2**len(PLATFORMS) masks, by mask."""
    masks = np.arange(1 << len(PLATFORMS_SORTED))
    bits = (masks[:, None] >> np.arange(len(PLATFORMS_SORTED))) & 1 == 1
    return _lists("platforms", bits, np.broadcast_to(np.arange(len(PLATFORMS_SORTED)), bits.shape))


def region_lists(codes: np.ndarray) -> pl.Series:
    """Region names from (rows, 5) codes (-1 = none), in rank order."""
    return _lists("top_regions", codes >= 0, codes)


def _lists(name: str, keep: np.ndarray, codes: np.ndarray) -> pl.Series:
    """A list column from a (rows, k) code matrix: row i lists the kept codes' names.

    Built as an Arrow list array from offsets, so no Python object per row is made.
    """
    names = _PLATFORM_NAMES if name == "platforms" else _REGION_NAMES
    offsets = np.concatenate([[0], np.cumsum(keep.sum(axis=1))]).astype(np.int32)
    values = names.take(pa.array(codes[keep]))
    return pl.Series(name, pa.ListArray.from_arrays(pa.array(offsets), values))


def _ceil_hour(ms: int) -> int:
    return -(-ms // HOUR_MS) * HOUR_MS
