"""Products of one partition: id → dense slot, first/last seen, latest category and name.

Slots index the window rings. A product silent for longer than the retention is pruned
and its slot reused, so memory follows active products, not history.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from services.ingest.windows import CountWindows


class Catalog:
    """Slot assignment and per-product metadata arrays."""

    def __init__(self, windows: CountWindows) -> None:
        self.windows = windows
        capacity = len(windows.fine.counts)
        self.slot_of: dict[str, int] = {}
        self.free: list[int] = list(range(capacity - 1, -1, -1))
        self.product_id = np.full(capacity, None, dtype=object)
        self.category = np.full(capacity, None, dtype=object)
        self.product_name = np.full(capacity, None, dtype=object)
        self.first_seen_ms = np.zeros(capacity, dtype=np.int64)
        self.last_seen_ms = np.zeros(capacity, dtype=np.int64)
        self.in_use = np.zeros(capacity, dtype=bool)

    def _grow(self) -> None:
        old = len(self.in_use)
        new = old * 2
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

    def assign(self, events: pl.DataFrame) -> pl.DataFrame:
        """Add a `slot` column (creating slots for new products) and update metadata."""
        per_product = events.group_by("product_id").agg(
            first=pl.col("ts_ms").min(),
            last=pl.col("ts_ms").max(),
            category=pl.col("category").drop_nulls().last(),
            product_name=pl.col("product_name").drop_nulls().last(),
        )
        ids = per_product["product_id"].to_list()
        slots = np.fromiter((self._slot(pid) for pid in ids), dtype=np.int64, count=len(ids))
        new = ~self.in_use[slots]
        self.in_use[slots] = True
        self.first_seen_ms[slots[new]] = per_product["first"].to_numpy()[new]
        self.first_seen_ms[slots] = np.minimum(self.first_seen_ms[slots], per_product["first"])
        self.last_seen_ms[slots] = np.where(
            new, per_product["last"], np.maximum(self.last_seen_ms[slots], per_product["last"])
        )
        for name in ("category", "product_name"):
            values = per_product[name].to_numpy()
            known = per_product[name].is_not_null().to_numpy()
            getattr(self, name)[slots[known]] = values[known]
        lookup = pl.DataFrame({"product_id": ids, "slot": slots.astype(np.uint32)})
        return events.join(lookup, on="product_id", how="left")

    def _slot(self, product_id: str) -> int:
        slot = self.slot_of.get(product_id)
        if slot is None:
            if not self.free:
                self._grow()
            slot = self.free.pop()
            self.slot_of[product_id] = slot
            self.product_id[slot] = product_id
        return slot

    def candidates(self, since_ms: int, until_ms: int) -> np.ndarray:
        """Slots seen since `since_ms` whose first event is before `until_ms`."""
        mask = self.in_use & (self.last_seen_ms >= since_ms) & (self.first_seen_ms < until_ms)
        return np.flatnonzero(mask)

    def keys(self, slots: np.ndarray) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "slot": slots.astype(np.uint32),
                "product_id": pl.Series(self.product_id[slots].tolist(), dtype=pl.String),
                "first_seen_ms": self.first_seen_ms[slots],
                "category": pl.Series(self.category[slots].tolist(), dtype=pl.String),
                "product_name": pl.Series(self.product_name[slots].tolist(), dtype=pl.String),
            }
        )

    def prune(self, before_ms: int) -> None:
        """Free slots of products last seen before `before_ms`."""
        stale = np.flatnonzero(self.in_use & (self.last_seen_ms < before_ms))
        if len(stale) == 0:
            return
        for slot in stale.tolist():
            del self.slot_of[self.product_id[slot]]
        self.free.extend(stale.tolist())
        self.in_use[stale] = False
        self.product_id[stale] = self.category[stale] = self.product_name[stale] = None
        self.windows.clear_slots(stale)

    @property
    def active_products(self) -> int:
        return int(self.in_use.sum())

    @property
    def nbytes(self) -> int:
        # ~100 B per dict entry and id string, plus the metadata arrays.
        arrays = sum(getattr(self, n).nbytes for n in ("first_seen_ms", "last_seen_ms", "in_use"))
        return arrays + 3 * 8 * len(self.in_use) + 100 * len(self.slot_of)
