"""The product catalogue and the creator population behind every event.

Products get a heavy-tailed baseline demand (lognormal across products: a few sell a lot,
most barely move), a random subset of platforms, a home province (their seller's), and a
small pool of accounts that post about them (the seller first, then affiliates, skewed so
the seller dominates). Creators live in provinces so that a trend can be seen spreading.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .categories import CATEGORIES
from .platforms import N_PLATFORMS, POPULARITY, PRESENCE, SOCIAL
from .regions import N_REGIONS, draw_regions

KINDS: tuple[str, ...] = (
    "background",
    "organic_viral",
    "exogenous_spike",
    "bot_burst",
    "category_surge",
    "slow_grower",
)
BACKGROUND, ORGANIC, EXOGENOUS, BOT, SURGE, SLOW = range(len(KINDS))
# Views-only sources polled as cumulative counters: hours between polls, by kind.
POLL_EVERY_H: dict[str, int] = {"daily": 24, "hourly": 1}
SOURCE_KIND: dict[int, str] = {h: kind for kind, h in POLL_EVERY_H.items()}
_MIX64 = 0x9E3779B97F4A7C15  # odd, so multiplication mod 2**64 is a bijection


def scramble(x: np.ndarray, salt: int, bits: int = 64) -> np.ndarray:
    """Distinct inputs below 2**bits map to distinct, random-looking outputs below 2**bits.

    Multiplying by an odd constant and adding modulo 2**bits is a bijection, so ids
    minted this way never collide however many are drawn.
    """
    mask = np.uint64((1 << bits) - 1)
    with np.errstate(over="ignore"):
        y = x.astype(np.uint64) * np.uint64(_MIX64) + np.uint64(salt)
    return y & mask


@dataclass(frozen=True)
class Creators:
    """Accounts that post or sell: hashed id, province and an engagement multiplier."""

    ids: np.ndarray  # str objects
    region: np.ndarray
    engagement: np.ndarray  # how strongly an account's audience reacts, lognormal
    _order: np.ndarray
    _start: np.ndarray
    _count: np.ndarray

    def pick(self, rng: np.random.Generator, regions: np.ndarray) -> np.ndarray:
        """One random creator from each requested province."""
        u = rng.random(len(regions))
        pos = self._start[regions] + (u * self._count[regions]).astype(np.int64)
        creators: np.ndarray = self._order[pos]
        return creators


def build_creators(rng: np.random.Generator, n: int, salt: int) -> Creators:
    region = draw_regions(rng, n)
    region[:N_REGIONS] = np.arange(N_REGIONS)  # every province has someone to pick
    codes = scramble(np.arange(n), salt, bits=60)
    ids = np.array([f"c{v:015x}" for v in codes.tolist()], dtype=object)
    order = np.argsort(region, kind="stable")
    count = np.bincount(region, minlength=N_REGIONS)
    start = np.concatenate([[0], np.cumsum(count)[:-1]])
    engagement = rng.lognormal(0.0, 0.35, n)
    return Creators(ids, region, engagement, order, start, count)


@dataclass(frozen=True)
class Catalogue:
    """Per-product columns, indexed by product number."""

    product_id: np.ndarray  # str objects
    name: np.ndarray  # str objects
    category: np.ndarray
    price_idr: np.ndarray
    base_views: np.ndarray  # expected views per hour before rhythms and trends
    platform_weight: np.ndarray  # (n, platforms), zero where the product is absent
    home_region: np.ndarray
    seller: np.ndarray  # creator index of the selling account
    coarse: np.ndarray  # seen only through hourly view counters
    coarse_platform: np.ndarray
    # Hours between polls of a cumulative view counter (1 or 24; 0: not polled), and the
    # hour of the day a daily poll lands at (services/simulator/polls.py).
    poll_every_h: np.ndarray
    poll_hour: np.ndarray
    kind: np.ndarray
    pool_offset: np.ndarray  # baseline creators: members[offset : offset + size]
    pool_size: np.ndarray

    def __len__(self) -> int:
        return len(self.product_id)


def _names(rng: np.random.Generator, category: np.ndarray) -> np.ndarray:
    out = []
    for c in category.tolist():
        cat = CATEGORIES[c]
        out.append(
            f"{cat.nouns[rng.integers(len(cat.nouns))]} "
            f"{cat.variants[rng.integers(len(cat.variants))]}"
        )
    return np.array(out, dtype=object)


def _prices(rng: np.random.Generator, category: np.ndarray) -> np.ndarray:
    lo = np.array([CATEGORIES[c].price_idr[0] for c in category.tolist()], dtype=float)
    hi = np.array([CATEGORIES[c].price_idr[1] for c in category.tolist()], dtype=float)
    raw = np.exp(rng.uniform(np.log(lo), np.log(hi)))
    price = np.round(raw / 500.0) * 500.0
    price -= np.where(rng.random(len(price)) < 0.3, 100.0, 0.0)  # the familiar Rp 24.900
    prices: np.ndarray = np.maximum(price, 1_000).astype(np.int64)
    return prices


def _platforms(rng: np.random.Generator, n: int, presence_scale: float) -> np.ndarray:
    present = rng.random((n, N_PLATFORMS)) < PRESENCE * presence_scale
    none = ~present.any(axis=1)
    present[none, rng.choice(N_PLATFORMS, none.sum(), p=PRESENCE / PRESENCE.sum())] = True
    w = rng.gamma(1.0, 1.0, (n, N_PLATFORMS)) * POPULARITY * present
    shares: np.ndarray = w / w.sum(axis=1, keepdims=True)
    return shares


def ensure_social(rng: np.random.Generator, weight: np.ndarray, rows: np.ndarray) -> None:
    """Trends start where people post: give each listed product at least one social app."""
    for r in rows.tolist():
        if not (weight[r] * SOCIAL).any():
            weight[r, 0 if rng.random() < 0.7 else 1] = 0.3
            weight[r] /= weight[r].sum()


def build_catalogue(
    rng: np.random.Generator,
    n: int,
    creators: Creators,
    base_median: float,
    base_sigma: float,
    share_coarse: float,
    presence_scale: float,
    salt: int,
) -> tuple[Catalogue, list[np.ndarray]]:
    """Products plus their baseline creator pools (as member lists to concatenate)."""
    cat_w = np.array([c.weight for c in CATEGORIES])
    category = rng.choice(len(CATEGORIES), n, p=cat_w / cat_w.sum())
    base = np.minimum(rng.lognormal(np.log(base_median), base_sigma, n), 400.0)
    weight = _platforms(rng, n, presence_scale)
    n_sellers = max(1, int(0.7 * n))
    seller_accounts = creators.pick(rng, draw_regions(rng, n_sellers))
    seller = seller_accounts[rng.integers(n_sellers, size=n)]
    coarse = rng.random(n) < share_coarse
    ids = scramble(np.arange(n), salt + 1, bits=40)
    product_id = np.array([f"sku-{v:010x}" for v in ids.tolist()], dtype=object)
    # Popular products have more affiliates posting about them.
    size = 1 + np.minimum(rng.poisson(2.0 + 2.0 * np.sqrt(base)), 40)
    pools = []
    for i in range(n):
        others = rng.integers(len(creators.ids), size=size[i] - 1)
        pools.append(np.concatenate([[seller[i]], others]))
    offset = np.concatenate([[0], np.cumsum(size)[:-1]])
    cat = Catalogue(
        product_id=product_id,
        name=_names(rng, category),
        category=category,
        price_idr=_prices(rng, category),
        base_views=base,
        platform_weight=weight,
        home_region=creators.region[seller],
        seller=seller,
        coarse=coarse,
        coarse_platform=weight.argmax(axis=1),
        poll_every_h=np.zeros(n, dtype=np.int64),
        poll_hour=np.zeros(n, dtype=np.int64),
        kind=np.zeros(n, dtype=np.int64),
        pool_offset=offset,
        pool_size=size,
    )
    return cat, pools
