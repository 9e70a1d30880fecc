"""Planners for each trend kind, and `build_plan`, which runs them over the catalogue.

* organic_viral: the self-exciting adoption of `dynamics`; seeds in one or two provinces,
  spreading by a Polya urn over provinces and platforms, conversion rising with adoption.
* exogenous_spike: one outside shock (a celebrity or news mention) plus a few reposts,
  with a fast-decaying response: a sudden jump and a quick power-law fall.
* bot_burst: one to a few accounts pumping views around the clock on one platform, with
  the audience in one province and almost no likes, shares or purchases.
* category_surge: every product of a category lifts together (weather, a TV show, a
  campaign): same creators and provinces as usual, just more of everything.
* slow_grower: smooth exponential growth of a few percent a day.
"""

from __future__ import annotations

import numpy as np

from .calendar import DIURNAL_WIB, build_calendar
from .catalogue import (
    BOT,
    EXOGENOUS,
    ORGANIC,
    SLOW,
    SURGE,
    Catalogue,
    build_catalogue,
    build_creators,
    ensure_social,
)
from .categories import CATEGORIES
from .dynamics import (
    adoption,
    calibrate_speed,
    expected_views,
    memory_kernel,
    response_kernel,
    smooth_daily,
    spread,
)
from .plan import (
    BOT_POST,
    EXOGENOUS_POST,
    ORGANIC_POST,
    Plan,
    PlanBuilder,
    finish_plan,
)
from .platforms import POPULARITY, SOCIAL, TIKTOK
from .polls import assign_polled
from .regions import REGION_CODES, draw_regions
from .scenarios import ScenarioConfig
from .shapes import rise_curve

_BIG_CITIES = np.array([REGION_CODES.index(c) for c in ("ID-JK", "ID-JB", "ID-JI", "ID-BT")])


def _loguniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    return float(np.exp(rng.uniform(np.log(bounds[0]), np.log(bounds[1]))))


def _social_choice(rng: np.random.Generator, cat: Catalogue, p: int, n: int) -> np.ndarray:
    """Platforms (among the product's social apps) for n posts, by platform pull."""
    w = cat.platform_weight[p] * SOCIAL
    w = (w > 0) * POPULARITY
    return rng.choice(len(w), n, p=w / w.sum())


def _base(cat: Catalogue, p: int) -> float:
    """Baseline the trend is measured against; tiny products still get a visible trend."""
    return max(float(cat.base_views[p]), 1.5)


def _first_below(x: np.ndarray, start: int, level: float) -> int:
    below = np.flatnonzero(x[start:] < level)
    return start + int(below[0]) if len(below) else len(x) - 1


def _cascade(
    b: PlanBuilder, onset: int, target_h: float, weak: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Posts (birth hour, reach) of one organic cascade and its views per hour (unscaled).

    Realisations are redrawn (deterministically) until the views peak within the
    configured window after onset, so the truth matches the scenario's promise.
    """
    cfg, rng, H = b.cfg, b.rng, b.cfg.hours
    rhythm = b.calendar.attention
    lo, hi = cfg.viral_peak_days
    adopters = max(12.0, _loguniform(rng, cfg.viral_adopters) * (0.35 if weak else 1.0))
    seeds = int(rng.integers(1, 4))
    horizon = min(H, onset + int(target_h) + 96)
    pp, qq = calibrate_speed(
        rhythm[:horizon],
        onset,
        adopters,
        _loguniform(rng, cfg.viral_imitation_ratio),
        b.memory,
        seeds,
        target_h - 4,
    )
    kernel = response_kernel(H, rng.uniform(1.5, 4.0), rng.uniform(0.35, 0.7))
    best: tuple[float, np.ndarray, np.ndarray, np.ndarray] | None = None
    for _ in range(40):
        posts = adoption(rng, rhythm, onset, adopters, pp, qq, b.memory, seeds)
        births = np.repeat(np.arange(H), posts.astype(np.int64))
        # Micro creators start a cascade; big accounts only join once it is visibly hot,
        # and feeds push a topic harder the more it is already being posted about.
        joined = np.arange(len(births)) / max(len(births), 1)
        reach = np.minimum(rng.pareto(1.4, len(births)) + 1.0, 2.0 + 198.0 * joined) * (
            0.15 + joined
        )
        views = rhythm * expected_views(births, reach, kernel)
        delay = (int(np.argmax(smooth_daily(views))) - onset) / 24.0
        miss = max(0.0, lo - 0.25 - delay, delay - hi - 0.25)
        if onset + delay * 24 > H - 6:
            miss += 1.0
        if best is None or miss < best[0]:
            best = (miss, births, reach, views)
        if miss == 0.0:
            break
    assert best is not None
    return best[1], best[2], best[3], kernel


def _shaped(
    b: PlanBuilder, onset: int, target_h: float, weak: bool, family: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Posts and views (unscaled) of a rise of a named shape family (`shapes`): posts per
    hour follow the family's curve, each with a heavy-tailed reach of its own."""
    rng, H = b.rng, b.cfg.hours
    posts = max(12.0, _loguniform(rng, b.cfg.viral_adopters) * (0.35 if weak else 1.0))
    curve = np.zeros(H)
    curve[onset:] = rise_curve(rng, family, target_h, H - onset, _loguniform(rng, (20.0, 80.0)))
    expected = posts * curve / curve.sum()
    births = np.repeat(np.arange(H), rng.poisson(expected))
    reach = np.minimum(rng.pareto(1.4, len(births)) + 1.0, 50.0)
    kernel = response_kernel(H, rng.uniform(1.5, 4.0), rng.uniform(0.35, 0.7))
    views = b.calendar.attention * expected_views(births, reach, kernel)
    return births, reach, views, kernel


def plan_organic(b: PlanBuilder, p: int, weak: bool, family: str | None = None) -> None:
    """`family`: a named shape family of the rise (`shapes`); None, the cascade."""
    cfg, rng, cat, H = b.cfg, b.rng, b.catalogue, b.cfg.hours
    target = rng.uniform(*cfg.viral_peak_days) * 24.0
    onset = int(rng.uniform(6, max(7.0, H - target - 12)))
    if family is None:
        births, reach, views, kernel = _cascade(b, onset, target, weak)
    else:
        births, reach, views, kernel = _shaped(b, onset, target, weak, family)
    seeds = max(1, int((births == onset).sum()))
    peak_x = rng.uniform(*cfg.weak_viral_peak_x) if weak else _loguniform(rng, cfg.viral_peak_x)
    smooth = smooth_daily(views)
    scale = peak_x * _base(cat, p) / smooth.max()
    reach, views, smooth = reach * scale, views * scale, smooth * scale
    n = len(births)
    home = cat.home_region[p] if rng.random() < 0.6 else draw_regions(rng, 1)[0]
    seed_regions = np.concatenate([[home], draw_regions(rng, cfg.viral_seed_regions_max - 1)])
    seed_labels = seed_regions[rng.integers(len(seed_regions), size=seeds)]
    seed_labels[0] = home
    regions = spread(rng, n, seed_labels, cfg.viral_region_novelty, draw_regions(rng, n))
    has_tiktok = cat.platform_weight[p, TIKTOK] > 0
    origin = TIKTOK if has_tiktok and rng.random() < 0.75 else _social_choice(rng, cat, p, 1)[0]
    platforms = spread(
        rng, n, np.array([origin]), cfg.viral_platform_novelty, _social_choice(rng, cat, p, n)
    )
    creators = b.creators.pick(rng, regions)
    again = rng.random(n) < 0.1  # some creators post follow-ups
    again[:1] = False
    earlier = (rng.random(n) * np.arange(n)).astype(np.int64)
    creators[again] = creators[earlier[again]]
    adopted = np.cumsum(np.bincount(births, minlength=H)[:H]) / max(n, 1)
    shops_max = 2 + int(np.sqrt(n))
    shops = np.concatenate([[cat.seller[p]], rng.integers(len(b.creators.ids), size=shops_max)])
    lagged = np.concatenate([np.zeros(3), views[:-3]])
    # Buying lags watching: carts and purchases per view climb as adoption spreads.
    ep = b.add_episode(
        p,
        0.5 + 3.5 * adopted,
        rng.uniform(0.15, 0.35) * (0.3 + adopted) * lagged,
        shops,
        1 + (shops_max * adopted).astype(np.int64),
    )
    b.add_posts(
        product=np.int64(p),
        platform=platforms,
        creator=creators,
        region=regions,
        local=np.float64(0.8),
        reach=reach,
        birth=births,
        kernel=np.int64(b.add_kernel(kernel)),
        profile=np.int64(ORGANIC_POST),
        rhythm=np.bool_(True),
        episode=np.int64(ep),
    )
    peak = int(np.argmax(smooth))
    b.add_truth(p, onset, peak, _first_below(smooth, peak, 0.1 * smooth[peak]))
    b.extra[p] = {"strength": round(float(peak_x), 2), "weak": weak}
    if family is not None:
        b.extra[p]["shape"] = family


def plan_exogenous(b: PlanBuilder, p: int) -> None:
    cfg, rng, cat, H = b.cfg, b.rng, b.catalogue, b.cfg.hours
    n_eps = 1 + int(rng.random() < 0.2)
    day_w = DIURNAL_WIB / DIURNAL_WIB.sum()
    onsets = np.sort(
        rng.integers(0, max(1, H // 24), size=n_eps) * 24 + rng.choice(24, size=n_eps, p=day_w)
    )
    last_end = -48
    for onset in np.minimum(onsets, H - 6).tolist():
        if onset < last_end + 48:
            continue
        reposts = int(rng.integers(1, cfg.exogenous_reposts_max + 1))
        births = np.minimum(
            np.concatenate([[onset], onset + rng.exponential(3.0, reposts).astype(np.int64)]), H - 1
        )
        reach = np.concatenate([[1.0], rng.uniform(0.05, 0.3, reposts)])
        regions = np.concatenate([rng.choice(_BIG_CITIES, 1), draw_regions(rng, reposts)])
        kernel = response_kernel(H, rng.uniform(0.7, 1.5), rng.uniform(0.8, 1.3))
        views = b.calendar.attention * expected_views(births, reach, kernel)
        peak_x = _loguniform(rng, cfg.exogenous_peak_x)
        scale = peak_x * _base(cat, p) / views.max()
        reach, views = reach * scale, views * scale
        lagged = np.concatenate([[0.0], views[:-1]])
        ep = b.add_episode(
            p,
            np.full(H, 0.35),
            0.04 * lagged,
            np.array([cat.seller[p]]),
            np.ones(H, dtype=np.int64),
        )
        b.add_posts(
            product=np.int64(p),
            platform=_social_choice(rng, cat, p, reposts + 1),
            creator=b.creators.pick(rng, regions),
            region=regions,
            local=np.float64(0.1),
            reach=reach,
            birth=births,
            kernel=np.int64(b.add_kernel(kernel)),
            profile=np.int64(EXOGENOUS_POST),
            rhythm=np.bool_(True),
            episode=np.int64(ep),
        )
        peak = int(np.argmax(views))
        last_end = _first_below(views, peak, 0.05 * views[peak])
        b.add_truth(p, onset, peak, last_end)
        b.extra[p] = {"strength": round(float(peak_x), 2)}


def plan_bot(b: PlanBuilder, p: int) -> None:
    cfg, rng, cat, H = b.cfg, b.rng, b.catalogue, b.cfg.hours
    n_eps = 1 + int(rng.binomial(2, 0.3))
    last_end = -24
    for onset in np.sort(rng.integers(0, H - 4, size=n_eps)).tolist():
        if onset < last_end + 24:
            continue
        dur = int(min(rng.integers(cfg.bot_hours[0], cfg.bot_hours[1] + 1), H - onset))
        kernel = np.zeros(H)
        a = np.arange(dur)
        kernel[:dur] = 1.0 + 0.3 * np.sin(np.pi * (a + 0.5) / dur)
        kernel /= kernel.sum()
        n_acc = int(rng.integers(1, cfg.bot_creators_max + 1))
        rate = _loguniform(rng, cfg.bot_peak_x) * _base(cat, p)
        reach = rate * dur * rng.dirichlet(np.full(n_acc, 2.0))
        farm = draw_regions(rng, 1)[0]
        ep = b.add_episode(
            p, np.zeros(H), np.zeros(H), np.array([cat.seller[p]]), np.ones(H, dtype=np.int64)
        )
        b.add_posts(
            product=np.int64(p),
            platform=_social_choice(rng, cat, p, 1)[0],
            creator=rng.integers(len(b.creators.ids), size=n_acc),
            region=np.int64(farm),
            local=np.float64(0.97),
            reach=reach,
            birth=np.int64(onset),
            kernel=np.int64(b.add_kernel(kernel)),
            profile=np.int64(BOT_POST),
            rhythm=np.bool_(False),
            episode=np.int64(ep),
        )
        last_end = onset + dur
        b.add_truth(p, onset, onset + int(np.argmax(kernel)), last_end)
        b.extra[p] = {"strength": round(rate / _base(cat, p), 2)}


def plan_surge(b: PlanBuilder, category: int) -> None:
    cfg, rng, H = b.cfg, b.rng, b.cfg.hours
    onset = int(rng.integers(24, max(25, H - 72)))
    rise, plateau, fall = rng.uniform(12, 36), rng.uniform(24, 72), rng.uniform(18, 48)
    t = np.arange(H) - onset
    up = 1.0 / (1.0 + np.exp(-(t - rise / 2) / (rise / 8)))
    down = np.exp(-np.clip(t - rise - plateau, 0.0, None) / fall)
    shape = np.where(t < 0, 0.0, up * down)
    amp = rng.uniform(*cfg.surge_peak_x)
    members = np.flatnonzero(b.catalogue.category == category)
    b.multiplier[members] *= (1.0 + (amp - 1.0) * shape).astype(np.float32)
    peak = onset + rise + plateau / 2
    for p in members.tolist():
        b.add_truth(p, onset, peak, onset + rise + plateau + 2.3 * fall)
        b.extra[p] = {"strength": round(float(amp), 2)}


def plan_slow(b: PlanBuilder, p: int) -> None:
    g = b.rng.uniform(*b.cfg.slow_growth_per_day)
    b.multiplier[p] *= np.exp(g * np.arange(b.cfg.hours) / 24.0).astype(np.float32)
    b.add_truth(p, 0, b.cfg.hours - 1, b.cfg.hours - 1)
    b.extra[p] = {"strength": round(float(g), 4)}


def assign_kinds(rng: np.random.Generator, cfg: ScenarioConfig, cat: Catalogue) -> None:
    """Pick surge categories (all their products), then the other kinds among the rest."""
    n = len(cat)
    sizes = np.bincount(cat.category, minlength=len(CATEGORIES))
    eligible = np.flatnonzero((sizes >= 2) & (sizes <= max(4, 0.08 * n)))
    surge = rng.choice(eligible, min(cfg.n_surge_categories, len(eligible)), replace=False)
    cat.kind[np.isin(cat.category, surge)] = SURGE
    rest = rng.permutation(np.flatnonzero(cat.kind == 0))
    at = 0
    for kind, share in (
        (ORGANIC, cfg.share_organic_viral),
        (EXOGENOUS, cfg.share_exogenous_spike),
        (BOT, cfg.share_bot_burst),
        (SLOW, cfg.share_slow_grower),
    ):
        k = max(cfg.min_per_kind, round(share * n))
        cat.kind[rest[at : at + k]] = kind
        at += k
    ensure_social(
        rng, cat.platform_weight, np.flatnonzero(np.isin(cat.kind, [ORGANIC, BOT, EXOGENOUS]))
    )
    cat.coarse_platform[:] = cat.platform_weight.argmax(axis=1)


def build_plan(cfg: ScenarioConfig, seed: int) -> Plan:
    """Decide everything about a run of `cfg` with `seed` (deterministic)."""
    rng = np.random.default_rng([seed, 0x5EED])
    salt = int(rng.integers(0, 2**62))
    creators = build_creators(rng, max(20_000, 60 * cfg.n_products), salt)
    cat, pools = build_catalogue(
        rng,
        cfg.n_products,
        creators,
        cfg.base_views_median,
        cfg.base_views_sigma,
        cfg.share_coarse,
        cfg.platform_presence,
        salt,
    )
    assign_kinds(rng, cfg, cat)
    assign_polled(cfg, seed, cat)
    b = PlanBuilder(
        cfg,
        rng,
        cat,
        creators,
        build_calendar(cfg.start, cfg.days),
        pools,
        np.ones((cfg.n_products, cfg.hours), dtype=np.float32),
        memory_kernel(cfg.hours),
    )
    organic = np.flatnonzero(cat.kind == ORGANIC)
    n_weak = round(cfg.share_weak_viral * len(organic))
    shapes = cfg.viral_shapes
    for i, p in enumerate(organic.tolist()):
        plan_organic(b, p, weak=i < n_weak, family=shapes[i % len(shapes)] if shapes else None)
    for p in np.flatnonzero(cat.kind == EXOGENOUS).tolist():
        plan_exogenous(b, p)
    for p in np.flatnonzero(cat.kind == BOT).tolist():
        plan_bot(b, p)
    for c in np.unique(cat.category[cat.kind == SURGE]).tolist():
        plan_surge(b, c)
    for p in np.flatnonzero(cat.kind == SLOW).tolist():
        plan_slow(b, p)
    if cfg.share_new_products:
        plan_launches(b)
    return finish_plan(b, seed, salt)


def plan_launches(b: PlanBuilder) -> None:
    """New products: nothing before a launch hour. A product with episodes launches one to
    four days before its first onset (a new product that goes viral soon after launch);
    the others at a random hour of the first half. Surge and slow-growth products keep
    their whole history (their truth spans the run)."""
    cfg, rng, cat, H = b.cfg, b.rng, b.catalogue, b.cfg.hours
    candidates = np.flatnonzero(~np.isin(cat.kind, [SURGE, SLOW]))
    chosen = candidates[rng.random(len(candidates)) < cfg.share_new_products]
    for p in chosen.tolist():
        episodes = b.truth.get(p)
        if episodes:
            launch = int(max(0.0, min(e["onset_h"] for e in episodes) - rng.uniform(24, 96)))
        else:
            launch = int(rng.integers(0, H // 2))
        b.multiplier[p, :launch] = 0.0
        b.extra.setdefault(p, {})["launch_h"] = launch
