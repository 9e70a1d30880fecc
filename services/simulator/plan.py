"""The plan of a run: everything decided before the first event is drawn.

A plan fixes the catalogue, who posts what and when, every episode's expected curve and
the ground truth. Events are then sampled hour by hour from it, so truth.json is known
up front and any hour can be generated independently of the ones before it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta

import numpy as np

from .calendar import CalendarEffects
from .catalogue import KINDS, SOURCE_KIND, Catalogue, Creators
from .categories import CATEGORIES
from .platforms import N_ACTIONS
from .scenarios import ScenarioConfig

HOUR_MS = 3_600_000
WIB = timedelta(hours=7)
# Action profiles: per-view multipliers on top of the platform's rates.
BASELINE, ORGANIC_POST, EXOGENOUS_POST, BOT_POST, SHOP = range(5)


@dataclass
class Posts:
    """Episode sources: one row per post (or per bot account), sorted by birth hour."""

    product: np.ndarray
    platform: np.ndarray
    member: np.ndarray  # index into Plan.members: the posting account
    region: np.ndarray  # home province of the post's audience
    local: np.ndarray  # chance a viewer comes from that province
    reach: np.ndarray  # expected lifetime views
    birth: np.ndarray  # hour index
    kernel: np.ndarray  # row of Plan.kernels: share of reach per hour of age
    profile: np.ndarray
    rhythm: np.ndarray  # follows the daily rhythm (humans) or not (bots)
    episode: np.ndarray  # row of the episode arrays


@dataclass
class Plan:
    cfg: ScenarioConfig
    seed: int
    salt: int
    start_ms: int
    catalogue: Catalogue
    creators: Creators
    calendar: CalendarEffects
    members: np.ndarray  # creator index for every pool slot, post and shop
    multiplier: np.ndarray  # (products, hours): surges and slow growth on baseline demand
    posts: Posts
    kernels: np.ndarray  # (kernels, hours)
    profiles: np.ndarray  # (profiles, actions)
    ep_conversion: np.ndarray  # (episodes, hours): multiplier on carts and purchases
    ep_spill: np.ndarray  # (episodes, hours): marketplace views the episode sends
    ep_product: np.ndarray
    ep_shop_offset: np.ndarray  # reseller shops: members[offset : offset + active]
    ep_shops_active: np.ndarray  # (episodes, hours)
    truth: dict[str, object]

    @property
    def hours(self) -> int:
        return self.cfg.hours

    def hour_ms(self, h: int) -> int:
        return self.start_ms + h * HOUR_MS


@dataclass
class PlanBuilder:
    """Collects posts, kernels and episodes while the per-kind planners run."""

    cfg: ScenarioConfig
    rng: np.random.Generator
    catalogue: Catalogue
    creators: Creators
    calendar: CalendarEffects
    members: list[np.ndarray]
    multiplier: np.ndarray
    memory: np.ndarray
    n_members: int = 0
    kernels: list[np.ndarray] = field(default_factory=list)
    posts: dict[str, list[np.ndarray]] = field(default_factory=dict)
    episodes: list[tuple[int, np.ndarray, np.ndarray, int, np.ndarray]] = field(
        default_factory=list
    )
    truth: dict[int, list[dict[str, float]]] = field(default_factory=dict)
    extra: dict[int, dict[str, object]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.n_members = int(sum(len(m) for m in self.members))

    def add_members(self, creators: np.ndarray) -> int:
        offset = self.n_members
        self.members.append(np.asarray(creators, dtype=np.int64))
        self.n_members += len(creators)
        return offset

    def add_kernel(self, kernel: np.ndarray) -> int:
        self.kernels.append(kernel)
        return len(self.kernels) - 1

    def add_episode(
        self,
        product: int,
        conversion: np.ndarray,
        spill: np.ndarray,
        shops: np.ndarray,
        shops_active: np.ndarray,
    ) -> int:
        offset = self.add_members(shops)
        self.episodes.append((product, conversion, spill, offset, shops_active))
        return len(self.episodes) - 1

    def add_posts(self, creator: np.ndarray, **cols: np.ndarray | np.generic) -> None:
        """Posts of `creator`s; scalar columns hold for every post."""
        n = len(creator)
        cols["member"] = self.add_members(creator) + np.arange(n)
        for key, value in cols.items():
            self.posts.setdefault(key, []).append(np.broadcast_to(value, (n,)).copy())

    def add_truth(self, product: int, onset_h: float, peak_h: float, end_h: float) -> None:
        hours = float(self.cfg.hours - 1)
        onset, peak, end = float(onset_h), float(peak_h), float(end_h)
        ep = {
            "onset_h": min(onset, hours),
            "peak_h": min(peak, hours),
            "end_h": min(max(end, peak), hours),
        }
        self.truth.setdefault(product, []).append(ep)


def start_ms_of(cfg: ScenarioConfig) -> int:
    """00:00 WIB on the start day, in epoch milliseconds."""
    local_midnight = datetime.combine(cfg.start, time(0), tzinfo=UTC) - WIB
    return int(local_midnight.timestamp() * 1000)


def _profiles(cfg: ScenarioConfig) -> np.ndarray:
    prof = np.ones((5, N_ACTIONS))
    prof[ORGANIC_POST] = [1.0, 1.3, 1.5, 1.8, 1.5, 1.2, 1.0, 1.0]  # carts x conversion
    prof[EXOGENOUS_POST] = [1.0, 0.6, 0.7, 0.5, 0.3, 0.6, 1.0, 1.0]
    prof[BOT_POST] = [1.0, cfg.bot_like_mult, 0.01, 0.003, 0.0, 0.0, 0.0, 0.0]
    prof[SHOP] = [1.0, 1.0, 1.0, 1.0, 1.3, 1.5, 1.0, 1.0]
    return prof


def finish_plan(b: PlanBuilder, seed: int, salt: int) -> Plan:
    """Freeze a builder into a Plan, with posts sorted by birth and truth assembled."""
    H = b.cfg.hours
    cols = {k: np.concatenate(v) for k, v in b.posts.items()}
    order = np.argsort(cols["birth"], kind="stable")
    posts = Posts(**{k: v[order] for k, v in cols.items()})
    eps = b.episodes
    start_ms = start_ms_of(b.cfg)
    cat = b.catalogue
    products: dict[str, object] = {}
    for p in range(len(cat)):
        entry: dict[str, object] = {
            "kind": KINDS[int(cat.kind[p])],
            "category": CATEGORIES[int(cat.category[p])].key,
            "episodes": [
                {f"{k[:-2]}_ms": start_ms + round(v) * HOUR_MS for k, v in ep.items()}
                for ep in b.truth.get(p, [])
            ],
            "product_name": str(cat.name[p]),
            "coarse": bool(cat.coarse[p]),
        }
        if cat.poll_every_h[p]:
            entry["counter"] = SOURCE_KIND[int(cat.poll_every_h[p])]
        entry.update(b.extra.get(p, {}))
        products[str(cat.product_id[p])] = entry
    truth: dict[str, object] = {
        "scenario": b.cfg.name,
        "seed": seed,
        "start_ms": start_ms,
        "end_ms": start_ms + H * HOUR_MS,
        "products": products,
        "calendar": b.calendar.entries,
    }
    return Plan(
        cfg=b.cfg,
        seed=seed,
        salt=salt,
        start_ms=start_ms,
        catalogue=cat,
        creators=b.creators,
        calendar=b.calendar,
        members=np.concatenate(b.members),
        multiplier=b.multiplier,
        posts=posts,
        kernels=np.array(b.kernels),
        profiles=_profiles(b.cfg),
        ep_conversion=np.array([e[1] for e in eps]).reshape(len(eps), H),
        ep_spill=np.array([e[2] for e in eps]).reshape(len(eps), H),
        ep_product=np.array([e[0] for e in eps], dtype=np.int64),
        ep_shop_offset=np.array([e[3] for e in eps], dtype=np.int64),
        ep_shops_active=np.array([e[4] for e in eps]).reshape(len(eps), H).astype(np.int64),
        truth=truth,
    )
