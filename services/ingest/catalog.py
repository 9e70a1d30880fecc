"""Products of one partition: id → dense slot, first/last seen, latest category and name,
the prices of their last `PRICE_SAMPLES` priced events (for a typical price) and the
history of their published rows (`RowHistory`).

Slots index the window rings. A product silent for longer than the retention is pruned
and its slot reused, so memory follows active products, not history.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import repeat

import numpy as np
import polars as pl

from services.ingest.config import NO_TIME
from services.ingest.row_history import RowHistory
from services.ingest.state_arrays import (
    Arrays,
    arrays_to_strings,
    nest,
    section,
    strings_to_arrays,
)
from services.ingest.windows import CountWindows

TEXT_COLUMNS = ("product_id", "category", "product_name")
NUMBER_COLUMNS = {"first_seen_ms": np.int64, "last_seen_ms": np.int64, "in_use": np.bool_}
# A product's typical price is the median of its last this many event prices (arrival
# order, so it does not depend on how the events were cut into batches).
PRICE_SAMPLES = 15


@dataclass(frozen=True)
class Restarts:
    """Products starting afresh within a batch: at `chunk`, `slot` with `first_seen_ms`."""

    chunk: np.ndarray
    slot: np.ndarray
    first_seen_ms: np.ndarray


def no_prices(capacity: int) -> tuple[np.ndarray, np.ndarray]:
    """Empty price rings: per slot `PRICE_SAMPLES` places (inf: empty, which sorts last and
    compares equal to itself) and how many prices were ever noted."""
    return np.full((capacity, PRICE_SAMPLES), np.inf), np.zeros(capacity, dtype=np.int64)


class Catalog:
    """Slot assignment and per-product metadata arrays."""

    def __init__(self, windows: CountWindows, retention_ms: int) -> None:
        self.windows = windows
        self.retention_ms = retention_ms
        capacity = len(windows.fine.counts)
        self.slot_of: dict[str, int] = {}
        self.free: list[int] = list(range(capacity - 1, -1, -1))
        self.product_id = np.full(capacity, None, dtype=object)
        self.category = np.full(capacity, None, dtype=object)
        self.product_name = np.full(capacity, None, dtype=object)
        self.first_seen_ms = np.zeros(capacity, dtype=np.int64)
        self.last_seen_ms = np.zeros(capacity, dtype=np.int64)
        self.in_use = np.zeros(capacity, dtype=bool)
        self.prices, self.prices_noted = no_prices(capacity)
        # Typical prices of the slots whose prices have not changed since (a cache).
        self._typical = np.full(capacity, np.nan)
        self._stale = np.ones(capacity, dtype=bool)
        self.history = RowHistory(capacity)

    def to_arrays(self) -> Arrays:
        """Metadata columns and the free list (in order: it decides the next slots)."""
        arrays = {name: getattr(self, name) for name in NUMBER_COLUMNS}
        for name in TEXT_COLUMNS:
            arrays |= nest(name, strings_to_arrays(getattr(self, name)))
        prices = {"prices": self.prices, "prices_noted": self.prices_noted}
        history = nest("history", self.history.to_arrays())
        return arrays | prices | history | {"free": np.array(self.free, dtype=np.int64)}

    @classmethod
    def from_arrays(cls, windows: CountWindows, retention_ms: int, arrays: Arrays) -> Catalog:
        """The catalog saved by `to_arrays`, over restored `windows` of the same capacity."""
        catalog = cls(windows, retention_ms)
        capacity = len(catalog.in_use)
        for name, dtype in NUMBER_COLUMNS.items():
            setattr(catalog, name, arrays[name].astype(dtype, copy=False))
        for name in TEXT_COLUMNS:
            setattr(catalog, name, arrays_to_strings(section(arrays, name)))
        columns = [*NUMBER_COLUMNS, *TEXT_COLUMNS]
        if any(getattr(catalog, name).shape != (capacity,) for name in columns):
            raise ValueError(f"catalog columns do not match {capacity} window slots")
        if "prices" in arrays:  # checkpoints written before prices were kept start empty
            catalog.prices = arrays["prices"].astype(np.float64, copy=False)
            catalog.prices_noted = arrays["prices_noted"].astype(np.int64, copy=False)
            if catalog.prices.shape != (capacity, PRICE_SAMPLES):
                raise ValueError(f"catalog prices do not match {capacity} window slots")
        catalog.history = RowHistory.from_arrays(section(arrays, "history"))
        if len(catalog.history.hour) != capacity:
            raise ValueError(f"row history does not match {capacity} window slots")
        free = arrays["free"].astype(np.int64)
        named = catalog.product_id != None  # noqa: E711 (elementwise on an object array)
        catalog.free = free.tolist()
        slots = np.flatnonzero(named)
        catalog.slot_of = dict(zip(catalog.product_id[slots].tolist(), slots.tolist(), strict=True))
        unnamed = np.zeros(capacity, bool)
        unnamed[free] = True
        if (
            len(catalog.slot_of) != len(slots)
            or (unnamed == named).any()
            or len(free) != (~named).sum()
        ):
            raise ValueError("catalog slots are neither free nor held by one product each")
        return catalog

    def _grow(self) -> None:
        old = len(self.in_use)
        new = old + old // 4  # memory follows active products more closely than doubling
        self.windows.grow(new)
        self.free.extend(range(new - 1, old - 1, -1))
        for name in (
            "product_id",
            "category",
            "product_name",
            "first_seen_ms",
            "last_seen_ms",
            "in_use",
        ):
            arr = getattr(self, name)
            extra = (
                np.full(new - old, None, dtype=object)
                if arr.dtype == object
                else np.zeros(new - old, dtype=arr.dtype)
            )
            setattr(self, name, np.concatenate([arr, extra]))
        prices, noted = no_prices(new - old)
        self.prices = np.concatenate([self.prices, prices])
        self.prices_noted = np.concatenate([self.prices_noted, noted])
        self._typical = np.concatenate([self._typical, np.full(new - old, np.nan)])
        self._stale = np.concatenate([self._stale, np.ones(new - old, dtype=bool)])
        self.history.grow(new)

    def assign(
        self, events: pl.DataFrame, tick_before_chunk: np.ndarray
    ) -> tuple[np.ndarray, Restarts]:
        """Slots of a batch's accepted events (creating slots for new products), and the
        products already known that start afresh in the batch.

        `events` has product_id, ts_ms and chunk (the index of the stretch between two
        ticks); `tick_before_chunk[c]` is the last tick passed before chunk c. A known
        product that a tick before one of its chunks would have pruned (last seen more
        than the retention before that tick) starts afresh at that chunk, exactly as if
        it had been pruned there: through `restart`, when the caller folds that chunk, so
        the ticks fired before it in the same batch still read its old state. So a batch
        spanning more than the retention gives what the same events cut into batches
        give. `last_seen_ms` takes the whole batch at once: only rows with events in the
        day before a tick are published, so this never changes a row. Category and name
        follow the chunks, see `describe`.
        """
        per_product = events.with_row_index("row").group_by("product_id").agg(rows=pl.col("row"))
        ids = per_product["product_id"].to_list()
        slots = np.fromiter(map(self.slot_of.get, ids, repeat(-1)), dtype=np.int64, count=len(ids))
        for i in np.flatnonzero(slots < 0).tolist():
            slots[i] = self._slot(ids[i])
        rows = per_product["rows"]
        event_slots = np.empty(events.height, dtype=np.int64)
        event_slots[rows.explode().to_numpy()] = np.repeat(slots, rows.list.len().to_numpy())
        # One row per (product, chunk) it has events in, chunks in order within a product.
        groups = (
            pl.DataFrame({"slot": event_slots, "chunk": events["chunk"], "ts": events["ts_ms"]})
            .group_by("slot", "chunk")
            .agg(first=pl.col("ts").min(), last=pl.col("ts").max())
            .sort("slot", "chunk")
            .with_columns(before=pl.col("last").cum_max().shift(1).over("slot"))
        )
        slot, chunk = groups["slot"].to_numpy(), groups["chunk"].to_numpy()
        opens = groups["before"].is_null().to_numpy()  # a product's first chunk of the batch
        in_use = self.in_use[slot]
        last_before = np.maximum(
            np.where(in_use, self.last_seen_ms[slot], NO_TIME),
            groups["before"].fill_null(NO_TIME).to_numpy(),
        )
        new = opens & ~in_use
        fresh = new | (last_before < tick_before_chunk[chunk] - self.retention_ms)
        # Segments: from a product's first chunk, or a fresh start, up to the next one.
        segment = np.cumsum(opens | fresh) - 1
        segment_first = np.minimum.reduceat(
            groups["first"].to_numpy(), np.flatnonzero(opens | fresh)
        )
        first = segment_first[segment]
        batch_last = np.maximum.reduceat(groups["last"].to_numpy(), np.flatnonzero(opens))
        # New products start at once (no tick before their first event reads them); a
        # product already known keeps its state for the ticks before the chunk where it
        # starts afresh, if it does, and otherwise takes its first segment now.
        start_slots, start_new = slot[opens], new[opens]
        old_first = self.first_seen_ms[start_slots]
        kept = np.where(fresh[opens], old_first, np.minimum(old_first, first[opens]))
        self.in_use[start_slots[start_new]] = True
        self.first_seen_ms[start_slots] = np.where(start_new, first[opens], kept)
        self.last_seen_ms[start_slots] = np.where(
            start_new, batch_last, np.maximum(self.last_seen_ms[start_slots], batch_last)
        )
        later = fresh & ~new
        return event_slots, Restarts(chunk[later], slot[later], first[later])

    def restart(self, slots: np.ndarray, first_seen_ms: np.ndarray) -> None:
        """Start products afresh (see `assign`): what a prune and a new first event give."""
        if len(slots):
            self._forget(slots)
            self.in_use[slots] = True
            self.first_seen_ms[slots] = first_seen_ms

    def describe(self, slots: np.ndarray, category: np.ndarray, product_name: np.ndarray) -> None:
        """Latest known category and name (None keeps the previous value)."""
        for name, values in (("category", category), ("product_name", product_name)):
            known = values != None  # noqa: E711 (elementwise on an object array)
            getattr(self, name)[slots[known]] = values[known]

    def note_prices(self, slots: np.ndarray, prices: np.ndarray) -> None:
        """Add event prices, in arrival order, to their products' rings of the last
        `PRICE_SAMPLES`."""
        if len(slots) == 0:
            return
        order = np.argsort(slots, kind="stable")  # per slot, still in arrival order
        slots, prices = slots[order], prices[order]
        starts = np.flatnonzero(np.diff(slots, prepend=-1))
        counts = np.diff(np.append(starts, len(slots)))
        rank = np.arange(len(slots)) - np.repeat(starts, counts)
        last = rank >= np.repeat(counts, counts) - PRICE_SAMPLES  # older ones are overwritten
        position = (self.prices_noted[slots] + rank) % PRICE_SAMPLES
        self.prices[slots[last], position[last]] = prices[last]
        self.prices_noted[slots[starts]] += counts
        self._stale[slots] = True

    def typical_price(self, slots: np.ndarray) -> np.ndarray:
        """Median of each slot's last prices; NaN for a product whose events had none.
        Computed again only for the slots whose prices changed since it last was."""
        todo = slots[self._stale[slots]]
        if len(todo):
            held = np.minimum(self.prices_noted[todo], PRICE_SAMPLES)
            ordered = np.sort(self.prices[todo], axis=1)  # empty places sort last
            rows = np.arange(len(todo))
            low = ordered[rows, np.maximum(held - 1, 0) // 2]
            high = ordered[rows, held // 2]
            self._typical[todo] = np.where(held > 0, (low + high) / 2, np.nan)
            self._stale[todo] = False
        typical: np.ndarray = self._typical[slots]
        return typical

    def _slot(self, product_id: str) -> int:
        slot = self.slot_of.get(product_id)
        if slot is None:
            if not self.free:
                self._grow()
            slot = self.free.pop()
            self.slot_of[product_id] = slot
            self.product_id[slot] = product_id
        return slot

    def candidates(
        self, since_ms: int, until_ms: int, among: np.ndarray | None = None
    ) -> np.ndarray:
        """Slots (of `among`, if given) seen since `since_ms` whose first event is before
        `until_ms`."""
        if among is None:
            mask = self.in_use & (self.last_seen_ms >= since_ms) & (self.first_seen_ms < until_ms)
            return np.flatnonzero(mask)
        seen = self.in_use[among] & (self.last_seen_ms[among] >= since_ms)
        slots: np.ndarray = among[seen & (self.first_seen_ms[among] < until_ms)]
        return slots

    def columns(self, slots: np.ndarray) -> dict[str, np.ndarray]:
        """Product id, category and name of `slots` (copies: later batches may rename)."""
        return {
            name: getattr(self, name)[slots] for name in ("product_id", "category", "product_name")
        }

    def prune(self, before_ms: int) -> None:
        """Free slots of products last seen before `before_ms`."""
        stale = np.flatnonzero(self.in_use & (self.last_seen_ms < before_ms))
        if len(stale) == 0:
            return
        for slot in stale.tolist():
            del self.slot_of[self.product_id[slot]]
        self.free.extend(stale.tolist())
        self.product_id[stale] = None
        self._forget(stale)

    def _forget(self, slots: np.ndarray) -> None:
        """Clear what is known about the products in `slots` (the slots stay assigned)."""
        self.in_use[slots] = False
        self.category[slots] = self.product_name[slots] = None
        self.prices[slots] = np.inf
        self.prices_noted[slots] = 0
        self._stale[slots] = True
        self.history.forget(slots)
        self.windows.clear_slots(slots)

    @property
    def active_products(self) -> int:
        return int(self.in_use.sum())

    @property
    def nbytes(self) -> int:
        # ~100 B per dict entry and id string, plus the metadata arrays.
        arrays: int = sum(
            getattr(self, n).nbytes
            for n in (
                "first_seen_ms",
                "last_seen_ms",
                "in_use",
                "prices",
                "prices_noted",
                "_typical",
                "_stale",
            )
        )
        text = 3 * 8 * len(self.in_use) + 100 * len(self.slot_of)
        return arrays + text + self.history.nbytes
