"""Draw one simulated hour of events from a plan, vectorised over all sources at once.

A source is anything that sends a product traffic this hour: its baseline audience on one
platform, one post of an episode, or the marketplace traffic an episode spills over. Each
source has an expected view count and per-action rates; counts per source x action are
Poisson around a gamma-distributed hour shock (negative binomial overall, so busy hours
cluster) and are then expanded into events with creator, province and time of arrival.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .plan import EXOGENOUS_POST, HOUR_MS, ORGANIC_POST, SHOP, Plan
from .platforms import (
    CART,
    ENGAGEMENT,
    HAS_CREATOR,
    MARKETPLACE,
    N_ACTIONS,
    PURCHASE,
    RATES,
    REGION_SHARE,
    SEARCH,
    TIKTOK,
    VIEW,
)
from .regions import draw_regions

_BASELINE_LOCAL = 0.25  # share of a product's usual audience from the seller's province
_SHOP_LOCAL = 0.15
_NEGLIGIBLE_VIEWS = 1e-4


@dataclass(frozen=True)
class HourEvents:
    """Events of one hour, sorted by timestamp; -1 marks an absent creator or region."""

    ts: np.ndarray
    product: np.ndarray
    platform: np.ndarray
    action: np.ndarray
    creator: np.ndarray
    region: np.ndarray
    count: np.ndarray  # > 0 only on coarse counters; 0 means a single event

    def __len__(self) -> int:
        return len(self.ts)


@dataclass
class _Sources:
    product: np.ndarray
    platform: np.ndarray
    views: np.ndarray
    rates: np.ndarray  # (sources, actions) events per view
    pool_offset: np.ndarray
    pool_size: np.ndarray
    pool_skew: np.ndarray  # exponent on a uniform draw: > 1 favours the pool's first slots
    home: np.ndarray
    local: np.ndarray


def _concat(parts: list[_Sources]) -> _Sources:
    return _Sources(
        *(np.concatenate([getattr(p, f) for p in parts]) for f in _Sources.__dataclass_fields__)
    )


class HourSampler:
    """Turns a plan into events, one hour at a time, with each hour's own random stream."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        cat = plan.catalogue
        self._bp_product, self._bp_platform = np.nonzero(cat.platform_weight)
        self._bp_share = cat.platform_weight[self._bp_product, self._bp_platform]
        market = cat.platform_weight[plan.ep_product] * MARKETPLACE
        no_market = market.sum(axis=1) == 0
        market[no_market, TIKTOK] = cat.platform_weight[plan.ep_product[no_market], TIKTOK]
        total = market.sum(axis=1, keepdims=True)
        self._ep_market = np.divide(market, total, out=np.zeros_like(market), where=total > 0)

    def rng(self, h: int) -> np.random.Generator:
        return np.random.default_rng([self.plan.seed, 0xE7, h])

    def _baseline(self, h: int) -> _Sources:
        plan, cat = self.plan, self.plan.catalogue
        prod, plat = self._bp_product, self._bp_platform
        c = cat.category[prod]
        views = (
            cat.base_views[prod]
            * self._bp_share
            * plan.calendar.attention[h]
            * plan.calendar.views[h, c]
            * plan.multiplier[prod, h]
        )
        rates = RATES[plat] * plan.calendar.actions[h, c]
        n = len(prod)
        return _Sources(
            prod,
            plat,
            views,
            rates,
            cat.pool_offset[prod],
            cat.pool_size[prod],
            np.full(n, 2.5),
            cat.home_region[prod],
            np.full(n, _BASELINE_LOCAL),
        )

    def _posts(self, h: int) -> _Sources:
        plan, posts = self.plan, self.plan.posts
        born = int(np.searchsorted(posts.birth, h, side="right"))
        age = h - posts.birth[:born]
        views = (
            posts.reach[:born]
            * plan.kernels[posts.kernel[:born], age]
            * np.where(posts.rhythm[:born], plan.calendar.attention[h], 1.0)
        )
        i = np.flatnonzero(views > _NEGLIGIBLE_VIEWS)
        prod, plat, prof = posts.product[i], posts.platform[i], posts.profile[i]
        rates = RATES[plat] * plan.profiles[prof]
        human = posts.rhythm[i]
        rates[human] *= plan.calendar.actions[h, plan.catalogue.category[prod[human]]]
        creator = plan.members[posts.member[i]]
        rates[:, ENGAGEMENT] *= plan.creators.engagement[creator][:, None]
        converts = (prof == ORGANIC_POST) | (prof == EXOGENOUS_POST)
        conv = np.where(converts, plan.ep_conversion[posts.episode[i], h], 1.0)
        rates[:, [CART, PURCHASE]] *= conv[:, None]
        n = len(i)
        return _Sources(
            prod,
            plat,
            views[i],
            rates,
            posts.member[i],
            np.ones(n, np.int64),
            np.ones(n),
            posts.region[i],
            posts.local[i],
        )

    def _spill(self, h: int) -> _Sources:
        plan, cat = self.plan, self.plan.catalogue
        ep, plat = np.nonzero((plan.ep_spill[:, h, None] > 0) & (self._ep_market > 0))
        prod = plan.ep_product[ep]
        views = plan.ep_spill[ep, h] * self._ep_market[ep, plat]
        rates = RATES[plat] * plan.profiles[SHOP] * plan.calendar.actions[h, cat.category[prod]]
        rates[:, [CART, PURCHASE]] *= plan.ep_conversion[ep, h][:, None]
        n = len(ep)
        return _Sources(
            prod,
            plat,
            views,
            rates,
            plan.ep_shop_offset[ep],
            plan.ep_shops_active[ep, h],
            np.ones(n),
            cat.home_region[prod],
            np.full(n, _SHOP_LOCAL),
        )

    def sample(self, h: int) -> HourEvents:
        """All events of hour `h` (same result whenever it is asked for)."""
        plan, rng = self.plan, self.rng(h)
        src = _concat([self._baseline(h), self._posts(h), self._spill(h)])
        k = plan.cfg.count_dispersion
        shock = rng.gamma(k, 1.0 / k, len(src.views))
        counts = rng.poisson(src.views[:, None] * src.rates * shock[:, None])
        coarse = plan.catalogue.coarse[src.product]
        hour_ms = plan.hour_ms(h)

        # Coarse products: one view counter per hour, stamped at the end of the hour.
        totals = np.bincount(
            src.product[coarse], weights=counts[coarse, VIEW], minlength=len(plan.catalogue)
        ).astype(np.int64)
        c_prod = np.flatnonzero(totals)
        n_c = len(c_prod)

        fine = counts * ~coarse[:, None]
        flat = fine.ravel()
        nz = np.flatnonzero(flat)
        ev_src = np.repeat(nz // N_ACTIONS, flat[nz])
        action = np.repeat(nz % N_ACTIONS, flat[nz])
        n = len(ev_src)
        platform = src.platform[ev_src]
        size = src.pool_size[ev_src]
        slot = np.minimum(
            (size * rng.random(n) ** src.pool_skew[ev_src]).astype(np.int64), size - 1
        )
        creator = plan.members[src.pool_offset[ev_src] + slot]
        creator[(action == SEARCH) | ~HAS_CREATOR[platform]] = -1
        region = np.where(rng.random(n) < src.local[ev_src], src.home[ev_src], draw_regions(rng, n))
        region[rng.random(n) >= REGION_SHARE[platform]] = -1

        ts = np.concatenate(
            [
                hour_ms + rng.integers(0, HOUR_MS, n),
                hour_ms + HOUR_MS - 1000 + rng.integers(0, 1000, n_c),
            ]
        )
        order = np.argsort(ts, kind="stable")
        minus = np.full(n_c, -1, dtype=np.int64)
        return HourEvents(
            ts=ts[order],
            product=np.concatenate([src.product[ev_src], c_prod])[order],
            platform=np.concatenate([platform, plan.catalogue.coarse_platform[c_prod]])[order],
            action=np.concatenate([action, np.full(n_c, VIEW)])[order],
            creator=np.concatenate([creator, minus])[order],
            region=np.concatenate([region, minus])[order],
            count=np.concatenate([np.zeros(n, dtype=np.int64), totals[c_prod]])[order],
        )
