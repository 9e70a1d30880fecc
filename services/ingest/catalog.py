"""Products of one partition: id → dense slot, first/last seen, latest category and name.

Slots index the window rings. A product silent for longer than the retention is pruned
and its slot reused, so memory follows active products, not history.
"""

from __future__ import annotations

from itertools import repeat

import numpy as np
import polars as pl

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

    def to_arrays(self) -> Arrays:
        """Metadata columns and the free list (in order: it decides the next slots)."""
        arrays = {name: getattr(self, name) for name in NUMBER_COLUMNS}
        for name in TEXT_COLUMNS:
            arrays |= nest(name, strings_to_arrays(getattr(self, name)))
        return arrays | {"free": np.array(self.free, dtype=np.int64)}

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

    def assign(self, events: pl.DataFrame, tick_before_chunk: np.ndarray) -> np.ndarray:
        """Slots of a batch's accepted events (creating slots for new products).

        `events` has product_id, ts_ms and chunk (the index of the stretch between two
        ticks); `tick_before_chunk[c]` is the last tick fired before chunk c. A product
        that a tick before its first event would have pruned starts afresh, exactly as
        if it had been pruned there. `last_seen_ms` takes the whole batch at once: only
        rows with events in the day before a tick are published, so this never changes
        a row. Category and name follow the chunks, see `describe`.
        """
        per_product = (
            events.with_row_index("row")
            .group_by("product_id")
            .agg(
                first=pl.col("ts_ms").min(),
                last=pl.col("ts_ms").max(),
                chunk=pl.col("chunk").min(),
                rows=pl.col("row"),
            )
        )
        ids = per_product["product_id"].to_list()
        slots = np.fromiter(map(self.slot_of.get, ids, repeat(-1)), dtype=np.int64, count=len(ids))
        for i in np.flatnonzero(slots < 0).tolist():
            slots[i] = self._slot(ids[i])
        returning = self.in_use[slots] & (
            self.last_seen_ms[slots]
            < tick_before_chunk[per_product["chunk"].to_numpy()] - self.retention_ms
        )
        if returning.any():
            self._forget(slots[returning])
        first, last = per_product["first"].to_numpy(), per_product["last"].to_numpy()
        new = ~self.in_use[slots]
        self.in_use[slots] = True
        seen = self.first_seen_ms[slots], self.last_seen_ms[slots]
        self.first_seen_ms[slots] = np.where(new, first, np.minimum(seen[0], first))
        self.last_seen_ms[slots] = np.where(new, last, np.maximum(seen[1], last))
        rows = per_product["rows"]
        event_slots = np.empty(events.height, dtype=np.int64)
        event_slots[rows.explode().to_numpy()] = np.repeat(slots, rows.list.len().to_numpy())
        return event_slots

    def describe(self, slots: np.ndarray, category: np.ndarray, product_name: np.ndarray) -> None:
        """Latest known category and name (None keeps the previous value)."""
        for name, values in (("category", category), ("product_name", product_name)):
            known = values != None  # noqa: E711 (elementwise on an object array)
            getattr(self, name)[slots[known]] = values[known]

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
        return among[seen & (self.first_seen_ms[among] < until_ms)]

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
        self.windows.clear_slots(slots)

    @property
    def active_products(self) -> int:
        return int(self.in_use.sum())

    @property
    def nbytes(self) -> int:
        # ~100 B per dict entry and id string, plus the metadata arrays.
        arrays = sum(getattr(self, n).nbytes for n in ("first_seen_ms", "last_seen_ms", "in_use"))
        return arrays + 3 * 8 * len(self.in_use) + 100 * len(self.slot_of)
