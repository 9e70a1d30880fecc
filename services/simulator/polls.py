"""Views-only sources as public APIs give them: a cumulative view counter, polled.

A platform's public API (YouTube's `videos.list`, TikTok's video query) sends no event
per view: it answers each video's view count as it stands when asked. A connector polls
it, once a day or every hour, and the counter core (`services.sources.counters`) turns
successive snapshots into delta events. The products picked here are rendered that way:
their views add up hour by hour, a snapshot is taken at each poll, and the connectors'
own counter core makes the events. So a simulated run holds exactly what a connector
would send: nothing from a product's first poll (it sets the baseline), then one `view`
event per poll with the views since the last one, the core's ids, no creator, no region,
no interactions.
"""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import polars as pl

from services.sources.counters import CounterBaselines, empty_events, snapshot_events
from shared.schema import PLATFORMS

from .catalogue import POLL_EVERY_H, Catalogue
from .categories import CATEGORIES
from .plan import HOUR_MS, Plan
from .sampling import HourEvents
from .scenarios import ScenarioConfig

_POLL_BEFORE_HOUR_END_MS = 1000  # a poll lands just before the hour ends, with its views


def assign_polled(cfg: ScenarioConfig, seed: int, cat: Catalogue) -> None:
    """Pick the products seen only through a polled view counter (daily or hourly) and the
    hour of the day each daily poll lands at. Their own random stream: a preset without
    polled counters draws every other number exactly as before."""
    share = cfg.share_daily_counter + cfg.share_hourly_counter
    if share <= 0:
        return
    if share > 1:
        raise ValueError("share_daily_counter + share_hourly_counter must be at most 1")
    rng = np.random.default_rng([seed, 0xC0C7])
    u = rng.random(len(cat))
    daily = u < cfg.share_daily_counter
    hourly = ~daily & (u < share)
    cat.poll_every_h[daily] = POLL_EVERY_H["daily"]
    cat.poll_every_h[hourly] = POLL_EVERY_H["hourly"]
    cat.poll_hour[:] = rng.integers(0, 24, len(cat))
    cat.coarse[daily | hourly] = True  # views only, summed per hour by the sampler


class CounterPolls:
    """Cumulative view counters of the polled products, snapshotted at each poll and turned
    into events by the counter core; the baselines carry from one hour to the next."""

    def __init__(self, plan: Plan) -> None:
        cat = plan.catalogue
        self.plan = plan
        self.every_h = cat.poll_every_h
        self.polled = self.every_h > 0
        rng = np.random.default_rng([plan.seed, 0xC0C8])
        # Views before the run began: a counter is never zero when first asked.
        days_online = rng.uniform(30.0, 365.0, len(cat))
        self.total = (cat.base_views * 24.0 * days_online).astype(np.int64)
        self.baselines = CounterBaselines.empty()
        item = pl.Series(cat.product_id.tolist(), dtype=pl.String)
        platform = pl.Series(PLATFORMS, dtype=pl.String).gather(cat.coarse_platform)
        self.items = pl.DataFrame(
            {
                "source": platform,
                "item_id": item,
                "platform": platform,
                "product_id": item,
                "category": [CATEGORIES[c].key for c in cat.category.tolist()],
                "product_name": cat.name.tolist(),
            }
        )

    def take(self, h: int, ev: HourEvents) -> tuple[HourEvents, pl.DataFrame]:
        """`ev` without the polled products' hourly view counts (added to their counters),
        and the events (`services.sources.counters.EVENT_FIELDS`) of the polls at the end
        of hour `h`."""
        if not self.polled.any():
            return ev, empty_events()
        mine = (ev.count > 0) & self.polled[ev.product]
        self.total += np.bincount(
            ev.product[mine], weights=ev.count[mine], minlength=len(self.total)
        ).astype(np.int64)
        rest = HourEvents(**{f.name: getattr(ev, f.name)[~mine] for f in fields(ev)})
        hour_of_day = (h + 1) % 24  # the poll at the end of hour h
        daily_due = (self.every_h == 24) & (self.plan.catalogue.poll_hour == hour_of_day)
        due = np.flatnonzero((self.every_h == 1) | daily_due)
        if not len(due):
            return rest, empty_events()
        observed_ms = self.plan.hour_ms(h) + HOUR_MS - _POLL_BEFORE_HOUR_END_MS
        snapshots = self.items[due].with_columns(
            observed_ms=pl.lit(observed_ms, pl.Int64), view=pl.Series(self.total[due])
        )
        result = snapshot_events(snapshots, self.baselines)
        self.baselines = result.baselines
        return rest, result.events
