"""Feature rows from window counts and spread, for the products a tick selects (see
`shared.features`: products with new events, and at the hour those whose windows slid).

Defined for every kind of input. A product reported only as coarse counters (one `view`
event per hour with a `count`, no creator, no region) gets its counts and growth as
usual, zero creators/regions and zero engagement rates; the model sees those as "no
spread evidence", not as missing data. Growth ratios use additive smoothing (+1) so a
product going from 0 to 3 events does not look like an infinite rise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from services.ingest.config import DAY_MS, HOUR_MS, MINUTE_MS
from services.ingest.spread import (
    TOP_REGIONS,
    SlotSpread,
    platform_lists,
    popcount,
    region_lists,
)
from shared.features import (
    COUNT_COLUMNS,
    FEATURE_COLUMNS,
    FEATURE_SCHEMA,
    HISTORY_COLUMNS,
    PEER_OF,
    WINDOWS,
)
from shared.schema import ACTIONS

WINDOWS_MS: dict[str, int] = dict(
    zip(WINDOWS, (5 * MINUTE_MS, HOUR_MS, 6 * HOUR_MS, DAY_MS, 7 * DAY_MS), strict=True)
)

WIB_OFFSET_MS = 7 * HOUR_MS
_SMOOTHING = 1.0
_OTHER = [name for name in FEATURE_SCHEMA if name not in FEATURE_COLUMNS]
_NULLABLE = frozenset(HISTORY_COLUMNS)  # NaN in the matrix: null in the rows
_ENGAGE = [ACTIONS.index(a) for a in ("like", "comment", "share", "save")]


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return (num + _SMOOTHING) / (den + _SMOOTHING)


def count_columns(counts: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per-action and total columns from integer window counts of shape (rows, actions)."""
    c: dict[str, np.ndarray] = {}
    for w, window in counts.items():
        for i, action in enumerate(ACTIONS):
            c[f"{action}_{w}"] = window[:, i]
        c[f"events_{w}"] = np.einsum("ra->r", window)  # sum(axis=1), a few times faster
    return c


def derived(c: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Growth, acceleration and engagement quality from the count columns."""
    engaged_24h = sum(c[f"{ACTIONS[i]}_24h"] for i in _ENGAGE)
    engaged_6h = sum(c[f"{ACTIONS[i]}_6h"] for i in _ENGAGE)
    views_24h = np.maximum(c["view_24h"], 1)
    views_6h = np.maximum(c["view_6h"], 1)
    # Division by a constant as multiplication by its reciprocal, as Polars computes it,
    # so features stay bit-identical to the expression form they were defined in.
    prior_hourly = (c["events_24h"] - c["events_1h"]) * (1 / 23.0)
    prior_6h = (c["events_24h"] - c["events_6h"]) * (1 / 3.0)
    prior_daily = (c["events_7d"] - c["events_24h"]) * (1 / 6.0)
    g1 = _ratio(c["events_1h"], prior_hourly)
    g6 = _ratio(c["events_6h"], prior_6h)
    return {
        "growth_1h_vs_24h": g1,
        "growth_6h_vs_24h": g6,
        "growth_24h_vs_7d": _ratio(c["events_24h"], prior_daily),
        "acceleration": np.log(g1) - np.log(g6),
        "engagement_rate_6h": engaged_6h / views_6h,
        "engagement_rate_24h": engaged_24h / views_24h,
        "share_rate_24h": c["share_24h"] / views_24h,
        "cart_rate_24h": c["add_to_cart_24h"] / views_24h,
        "conversion_rate_24h": c["purchase_24h"] / views_24h,
    }


def group_codes(categories: np.ndarray) -> np.ndarray:
    """Dense codes 0..k-1 for the category of each row (None: a group of its own)."""
    return np.unique(categories.astype(str), return_inverse=True)[1].reshape(-1)


def group_medians(values: np.ndarray, code: np.ndarray) -> np.ndarray:
    """The median of the values of each group code 0..k-1.

    One sort for all groups: values ordered within group codes, then each group's middle
    one or two picked by offset.
    """
    ordered = values[np.lexsort((values, code))]
    size = np.bincount(code)
    start = np.cumsum(size) - size
    medians: np.ndarray = (ordered[start + (size - 1) // 2] + ordered[start + size // 2]) * 0.5
    return medians


def versus_group(values: np.ndarray, code: np.ndarray) -> np.ndarray:
    """Each value over the median of the values of its group."""
    if len(values) == 0:
        return values.astype(np.float64)
    ratios: np.ndarray = values / group_medians(values, code)[code]
    return ratios


@dataclass(frozen=True)
class PeerMedians:
    """Each category's median of the growth columns the peer columns read, taken over all
    active products of a partition at one tick (categories as `str`, None as "None")."""

    categories: np.ndarray  # sorted
    medians: dict[str, np.ndarray]  # growth column -> median per category

    @classmethod
    def of(cls, counts: dict[str, np.ndarray], categories: np.ndarray) -> PeerMedians:
        """The medians over the products whose window `counts` and `categories` are given."""
        c = count_columns(counts)
        c |= derived(c)
        names, code = np.unique(categories.astype(str), return_inverse=True)
        code = code.reshape(-1)
        return cls(names, {own: group_medians(c[own], code) for own in PEER_OF.values()})


def peer_columns(
    c: dict[str, np.ndarray], categories: np.ndarray, peers: PeerMedians | None = None
) -> dict[str, np.ndarray]:
    """Growth over the category's median: from `peers` where it knows the category, else
    over the median of these rows' own category (a category new since `peers` was taken)."""
    names = categories.astype(str)
    known = np.zeros(len(names), bool)
    at = np.zeros(len(names), np.int64)
    if peers is not None and len(peers.categories):
        at = np.minimum(np.searchsorted(peers.categories, names), len(peers.categories) - 1)
        known = peers.categories[at] == names
    out = {}
    for peer, own in PEER_OF.items():
        values = c[own]
        ratio = np.empty(len(values), np.float64)
        if peers is not None:
            ratio[known] = values[known] / peers.medians[own][at[known]]
        rest = ~known
        if rest.any():
            ratio[rest] = versus_group(values[rest], group_codes(categories[rest]))
        out[peer] = ratio
    return out


def time_columns(tick_ms: int, first_seen_ms: np.ndarray) -> dict[str, np.ndarray]:
    wib = tick_ms + WIB_OFFSET_MS
    rows = len(first_seen_ms)
    return {
        "hours_since_first_seen": (tick_ms - first_seen_ms) * (1 / HOUR_MS),
        "hour_wib": np.full(rows, (wib // HOUR_MS) % 24),
        # 1970-01-01 was a Thursday: weekday 0 = Monday.
        "weekday_wib": np.full(rows, (wib // DAY_MS + 3) % 7),
    }


@dataclass
class TickRows:
    """The feature rows of one tick as NumPy columns, in publishing order.

    Turning them into a DataFrame costs mostly per call, not per row, so `frames`
    builds one frame for all the ticks a batch fired and slices it per tick.
    """

    tick_ms: int
    watermark_ms: int
    keys: dict[str, np.ndarray]  # product_id, category, product_name (object arrays)
    numbers: np.ndarray  # (len(FEATURE_COLUMNS), rows) float64: one row per column
    top_regions: np.ndarray  # (rows, 5) region codes, -1 = none
    platform_mask: np.ndarray
    price_idr: np.ndarray  # typical price (median of the last event prices), NaN = none


_NONE = np.empty(0, dtype=object)
_NO_KEYS = {"product_id": _NONE, "category": _NONE, "product_name": _NONE}
_NO_NUMBERS = np.empty((len(FEATURE_COLUMNS), 0), np.float64)
_NO_REGIONS = np.empty((0, TOP_REGIONS), np.int16)
_NO_PLATFORMS = np.empty(0, np.int32)
_NO_PRICES = np.empty(0, np.float64)


def no_rows(tick_ms: int, watermark_ms: int) -> TickRows:
    """A tick that emits nothing (its empty arrays are shared: never written to)."""
    return TickRows(
        tick_ms, watermark_ms, _NO_KEYS, _NO_NUMBERS, _NO_REGIONS, _NO_PLATFORMS, _NO_PRICES
    )


def tick_rows(
    keys: dict[str, np.ndarray],
    price_idr: np.ndarray,
    first_seen_ms: np.ndarray,
    counts: dict[str, np.ndarray],
    spread: SlotSpread,
    slots: np.ndarray,
    *,
    tick_ms: int,
    watermark_ms: int,
    peers: PeerMedians | None = None,
    history: dict[str, np.ndarray] | None = None,
) -> TickRows:
    """The feature rows of `slots`, in that order, at a tick.

    `keys` holds product_id, category and product_name, `price_idr` the typical prices
    (metadata for the page, not a model input); `counts` the per-action window
    counts, shape (len(slots), actions); `spread` is indexed by slot; `peers` the
    category medians of the peer columns (None: the medians of these rows); `history`
    the history columns (`RowHistory.lookup`, NaN: no earlier row; None: none at all).
    """
    rows = len(slots)
    numbers = np.empty((len(FEATURE_COLUMNS), rows), dtype=np.float64)
    # The count and total columns lead FEATURE_COLUMNS, window by window: written as
    # whole blocks of the matrix. Counts are far below 2**53, so as floats they are exact
    # and every derived column comes out as from the integers.
    windows = np.stack([counts[w] for w in WINDOWS])  # (windows, rows, actions)
    n_counts = len(COUNT_COLUMNS)
    numbers[:n_counts] = windows.transpose(0, 2, 1).reshape(n_counts, rows)
    numbers[n_counts : n_counts + len(WINDOWS)] = np.einsum("wra->wr", windows)  # sum(axis=2)
    led = n_counts + len(WINDOWS)
    c = dict(zip(FEATURE_COLUMNS[:led], numbers[:led], strict=True))
    creators_6h = spread.creators_6h[slots]
    masks = spread.platform_mask[slots]
    c |= derived(c)
    c |= peer_columns(c, keys["category"], peers)
    c |= {
        "creators_6h": creators_6h,
        "creators_24h": spread.creators_24h[slots],
        "new_creator_share_6h": np.divide(
            spread.new_6h[slots], creators_6h, out=np.zeros(rows), where=creators_6h > 0
        ),
        "regions_24h": spread.regions_24h[slots],
        "region_entropy_24h": spread.region_entropy_24h[slots],
        "platforms_24h": popcount(masks),
    }
    c |= time_columns(tick_ms, first_seen_ms)
    c |= history or dict.fromkeys(HISTORY_COLUMNS, np.full(rows, np.nan))
    for i, name in enumerate(FEATURE_COLUMNS[led:], led):
        numbers[i] = c[name]
    return TickRows(
        tick_ms, watermark_ms, keys, numbers, spread.top_regions[slots], masks, price_idr
    )


def frames(ticks: list[TickRows], partition: int) -> list[pl.DataFrame]:
    """One published DataFrame per tick (possibly empty), all built in one go."""
    if not ticks:
        return []
    sizes = [t.numbers.shape[1] for t in ticks]
    rows = sum(sizes)

    def joined(name: str) -> pl.Series:
        values = np.concatenate([t.keys[name] for t in ticks])
        return pl.Series(values.tolist(), dtype=pl.String)

    other = {name: joined(name) for name in ("product_id", "category", "product_name")} | {
        "partition": pl.Series(np.full(rows, partition, np.int32)),
        "tick_ms": pl.Series(np.repeat([t.tick_ms for t in ticks], sizes).astype(np.int64)),
        "watermark_ms": pl.Series(
            np.repeat([t.watermark_ms for t in ticks], sizes).astype(np.int64)
        ),
        "top_regions": region_lists(np.concatenate([t.top_regions for t in ticks])),
        "platforms": platform_lists(np.concatenate([t.platform_mask for t in ticks])),
        "price_idr": pl.Series(np.concatenate([t.price_idr for t in ticks]), nan_to_null=True),
    }
    # Column-major, so each float column is one contiguous row of the matrix.
    matrix = np.concatenate([t.numbers for t in ticks], axis=1)
    numbers = [
        pl.Series(name, matrix[i], nan_to_null=name in _NULLABLE)
        for i, name in enumerate(FEATURE_COLUMNS)
    ]
    first = [other[name].alias(name).cast(FEATURE_SCHEMA[name]) for name in _OTHER]
    frame = pl.DataFrame([*first, *numbers])
    offsets = np.concatenate([[0], np.cumsum(sizes)]).tolist()
    # Slicing costs per call: the ticks without rows share one empty frame.
    empty = frame.clear()
    return [
        frame.slice(offset, size) if size else empty
        for offset, size in zip(offsets, sizes, strict=False)
    ]
