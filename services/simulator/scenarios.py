"""Named scenario presets: catalogue size, period, mix of trend kinds and noise rates.

`small` is sized for tests (seconds), `standard` for training and evaluation, `hard` for
the stress case: more decoys of every kind, organic trends that start quieter and spread
less, coarser sources and noisier counts. All rates are per event unless stated.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date

from .shapes import SHAPE_FAMILIES


@dataclass(frozen=True)
class ScenarioConfig:
    """Everything that shapes one simulated run; a seed picks one realisation of it."""

    name: str
    n_products: int
    days: int
    start: date  # first simulated day, starting 00:00 WIB (UTC+7)

    # Trend kinds: shares of the catalogue (at least `min_per_kind` of each).
    share_organic_viral: float = 0.04
    share_weak_viral: float = 0.3  # of organic viral products, how many peak only a few x
    share_exogenous_spike: float = 0.03
    share_bot_burst: float = 0.03
    share_slow_grower: float = 0.03
    n_surge_categories: int = 2
    min_per_kind: int = 2

    # Baseline demand: hourly views, lognormal across products (heavy right tail).
    base_views_median: float = 2.5
    base_views_sigma: float = 1.25

    # Organic viral dynamics.
    viral_peak_days: tuple[float, float] = (2.0, 5.0)  # onset -> peak
    viral_peak_x: tuple[float, float] = (12.0, 120.0)  # peak views / baseline, strong ones
    weak_viral_peak_x: tuple[float, float] = (3.0, 8.0)
    viral_adopters: tuple[float, float] = (60.0, 900.0)  # posting creators over the episode
    viral_seed_regions_max: int = 2
    viral_region_novelty: float = 0.15  # chance a new post lands outside the provinces so far
    viral_platform_novelty: float = 0.08
    viral_imitation_ratio: tuple[float, float] = (40.0, 400.0)  # Bass q/p
    # Named shape families of the rise (`shapes.SHAPE_FAMILIES`), taken in turn by the
    # organic viral products; empty: the self-exciting cascade of `dynamics`.
    viral_shapes: tuple[str, ...] = ()

    # Decoys.
    exogenous_peak_x: tuple[float, float] = (15.0, 150.0)
    exogenous_reposts_max: int = 4
    bot_peak_x: tuple[float, float] = (30.0, 250.0)
    bot_hours: tuple[int, int] = (4, 30)
    bot_creators_max: int = 2
    bot_like_mult: float = 0.02  # bots' likes relative to a human audience
    surge_peak_x: tuple[float, float] = (1.8, 4.0)
    slow_growth_per_day: tuple[float, float] = (0.02, 0.06)

    # Observation noise.
    share_coarse: float = 0.15  # products seen only as hourly view counters
    # Products seen only as a cumulative view counter that a connector polls (once a day,
    # or every hour) and the counter core turns into events: what public APIs give.
    share_daily_counter: float = 0.0
    share_hourly_counter: float = 0.0
    share_new_products: float = 0.0  # launched during the run (nothing before launch)
    platform_presence: float = 1.0  # scales each platform's chance of carrying a product
    count_dispersion: float = 4.0  # gamma shape of hour-level demand shocks; lower = noisier
    late_rate: float = 0.004
    duplicate_rate: float = 0.003
    malformed_rate: float = 0.0005
    rfc3339_rate: float = 0.04
    notes: str = field(default="", compare=False)

    @property
    def hours(self) -> int:
        return self.days * 24


SCENARIOS: dict[str, ScenarioConfig] = {
    "small": ScenarioConfig(
        name="small",
        n_products=60,
        days=14,
        start=date(2025, 11, 8),  # spans 11.11
        share_organic_viral=0.1,
        share_exogenous_spike=0.07,
        share_bot_burst=0.07,
        share_slow_grower=0.07,
        n_surge_categories=1,
        viral_peak_days=(1.75, 3.5),  # quick peaks keep whole episodes inside a short run
        base_views_median=3.0,
        late_rate=0.006,
        duplicate_rate=0.005,
        malformed_rate=0.002,
        notes="test-sized: every kind and noise source present, seconds to generate",
    ),
    "standard": ScenarioConfig(
        name="standard",
        n_products=1000,
        days=30,
        start=date(2025, 11, 20),  # payday 25th-1st, 12.12 Harbolnas
        notes="training and evaluation",
    ),
    "hard": ScenarioConfig(
        name="hard",
        n_products=1000,
        days=30,
        start=date(2026, 2, 10),  # Ramadan 1447 H starts mid-period; payday; 2.2 and 3.3
        share_organic_viral=0.03,
        share_weak_viral=0.45,
        share_exogenous_spike=0.06,
        share_bot_burst=0.06,
        share_slow_grower=0.06,
        n_surge_categories=3,
        viral_peak_x=(8.0, 80.0),
        weak_viral_peak_x=(2.5, 6.0),
        viral_adopters=(40.0, 600.0),
        viral_seed_regions_max=1,
        viral_region_novelty=0.08,
        viral_platform_novelty=0.05,
        viral_imitation_ratio=(150.0, 1500.0),  # longer quiet start before take-off
        exogenous_peak_x=(10.0, 120.0),
        exogenous_reposts_max=12,
        bot_creators_max=4,
        bot_like_mult=0.12,
        surge_peak_x=(1.6, 5.0),
        slow_growth_per_day=(0.03, 0.09),
        share_coarse=0.3,
        platform_presence=0.8,
        count_dispersion=1.5,
        late_rate=0.01,
        duplicate_rate=0.008,
        malformed_rate=0.002,
        rfc3339_rate=0.08,
        notes="more decoys, quieter starts, coarser sources, noisier counts",
    ),
    "shapes": ScenarioConfig(
        name="shapes",
        n_products=1000,
        days=30,
        start=date(2026, 4, 1),
        share_organic_viral=0.08,
        viral_peak_days=(1.0, 10.0),
        viral_shapes=SHAPE_FAMILIES,
        share_coarse=0.25,
        share_new_products=0.2,
        notes="rises of every shape family, one to ten days from onset to peak; new products",
    ),
    "counters": ScenarioConfig(
        name="counters",
        n_products=1000,
        days=30,
        start=date(2026, 4, 1),
        share_organic_viral=0.08,
        viral_peak_days=(1.0, 10.0),
        viral_shapes=SHAPE_FAMILIES,
        share_daily_counter=0.5,
        share_hourly_counter=0.5,
        notes="views-only sources: every product a polled view counter, half daily, half "
        "hourly; rises of every shape family",
    ),
}


def get_scenario(scenario: str | ScenarioConfig) -> ScenarioConfig:
    """Resolve a preset name (or pass a config through); unknown names list the choices."""
    if isinstance(scenario, ScenarioConfig):
        return scenario
    try:
        return SCENARIOS[scenario]
    except KeyError:
        raise ValueError(
            f"unknown scenario {scenario!r}; choose one of {', '.join(SCENARIOS)}"
        ) from None


def with_products(scenario: str | ScenarioConfig, n_products: int | None) -> ScenarioConfig:
    """A preset with a smaller (or larger) catalogue, named `<preset>-<n>` so runs of it
    are cached apart from the preset's. Shares and rates are per product, so the mix of
    kinds and noise stays the preset's; only counts of each kind scale.
    """
    cfg = get_scenario(scenario)
    if n_products is None or n_products == cfg.n_products:
        return cfg
    if n_products < 10:
        raise ValueError("a scenario needs at least 10 products")
    return dataclasses.replace(cfg, name=f"{cfg.name}-{n_products}", n_products=n_products)


def with_shapes(scenario: str | ScenarioConfig, shapes: tuple[str, ...] | None) -> ScenarioConfig:
    """A preset whose organic rises take only the named shape families, named
    `<preset>-<family>+<family>` so runs of it are cached apart (train on some families,
    evaluate on the others)."""
    cfg = get_scenario(scenario)
    if not shapes or tuple(shapes) == cfg.viral_shapes:
        return cfg
    unknown = sorted(set(shapes) - set(SHAPE_FAMILIES))
    if unknown:
        raise ValueError(f"unknown shape families {unknown}; choose from {SHAPE_FAMILIES}")
    name = f"{cfg.name}-{'+'.join(shapes)}"
    return dataclasses.replace(cfg, name=name, viral_shapes=tuple(shapes))
