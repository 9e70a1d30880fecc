"""Each trend kind behaves as documented, so detectors face the contrasts they should."""

from __future__ import annotations

import numpy as np
from simulated_run import HOUR_MS, SEED, Run, distinct, engagement_rate, totals

from services.simulator.catalogue import SLOW
from services.simulator.episodes import build_plan
from services.simulator.plan import BOT_POST
from services.simulator.scenarios import SCENARIOS


def _episode(run: Run, pid: str) -> dict[str, int]:
    return run.truth["products"][pid]["episodes"][0]


def _organic_peaks(run: Run) -> dict[str, float]:
    rates = {}
    for pid in run.products("organic_viral", coarse=False):
        pk = _episode(run, pid)["peak_ms"]
        rates[pid] = engagement_rate(run.window(pid, pk - 12 * HOUR_MS, pk + 12 * HOUR_MS))
    return rates


def test_every_kind_is_present(small_run: Run) -> None:
    for kind in (
        "organic_viral",
        "exogenous_spike",
        "bot_burst",
        "category_surge",
        "slow_grower",
        "background",
    ):
        assert len(small_run.products(kind)) >= 2, kind
    assert small_run.products("organic_viral", coarse=False)
    assert small_run.products("bot_burst", coarse=False)


def test_organic_viral_peaks_days_after_onset_and_towers_over_baseline(small_run: Run) -> None:
    lo, hi = SCENARIOS["small"].viral_peak_days
    for pid in small_run.products("organic_viral"):
        ep = _episode(small_run, pid)
        assert lo - 0.3 <= (ep["peak_ms"] - ep["onset_ms"]) / (24 * HOUR_MS) <= hi + 0.3
        views = small_run.hourly(pid)
        onset, peak = small_run.hour_of(ep["onset_ms"]), small_run.hour_of(ep["peak_ms"])
        first_day = views[onset : onset + 24].sum()
        peak_day = views[max(0, peak - 12) : peak + 12].sum()
        assert peak_day > 1.8 * first_day, pid


def test_organic_viral_reaches_more_creators_regions_and_buyers_at_peak(small_run: Run) -> None:
    gains = []
    for pid in small_run.products("organic_viral", coarse=False):
        ep = _episode(small_run, pid)
        start = small_run.window(pid, ep["onset_ms"], ep["onset_ms"] + 24 * HOUR_MS)
        peak = small_run.window(pid, ep["peak_ms"] - 12 * HOUR_MS, ep["peak_ms"] + 12 * HOUR_MS)
        assert distinct(peak, "creator_id") > distinct(start, "creator_id"), pid
        assert distinct(peak, "region") >= distinct(start, "region"), pid
        t0, t1 = totals(start), totals(peak)
        buy0 = (t0["add_to_cart"] + t0["purchase"]) / max(t0["view"], 1)
        buy1 = (t1["add_to_cart"] + t1["purchase"]) / max(t1["view"], 1)
        gains.append(buy1 / max(buy0, 1e-3))
    assert np.median(gains) > 1.0


def test_bot_bursts_have_views_without_engagement(small_run: Run) -> None:
    organic = np.median(list(_organic_peaks(small_run).values()))
    for pid in small_run.products("bot_burst", coarse=False):
        ep = _episode(small_run, pid)
        burst = small_run.window(pid, ep["onset_ms"], ep["end_ms"])
        assert engagement_rate(burst) < 0.2 * organic, pid
        t = totals(burst)
        assert t["purchase"] + t["share"] <= 0.01 * t["view"]
        views = [e for e in burst if e["action"] == "view"]
        by_creator: dict[str, int] = {}
        by_platform: dict[str, int] = {}
        for e in views:
            by_creator[e.get("creator_id", "")] = by_creator.get(e.get("creator_id", ""), 0) + 1
            by_platform[e["platform"]] = by_platform.get(e["platform"], 0) + 1
        top = sorted(by_creator.values(), reverse=True)[: SCENARIOS["small"].bot_creators_max]
        assert sum(top) > 0.8 * len(views), "one or two accounts carry a bot burst"
        assert max(by_platform.values()) > 0.8 * len(views), "a bot burst sits on one platform"


def test_bot_bursts_ignore_the_daily_rhythm() -> None:
    plan = build_plan(SCENARIOS["small"], SEED)
    bots = plan.posts.profile == BOT_POST
    assert bots.any() and not plan.posts.rhythm[bots].any()
    assert plan.posts.rhythm[~bots].all()


def test_exogenous_spikes_jump_and_fade_within_hours_with_few_creators(small_run: Run) -> None:
    organic_creators = []
    for pid in small_run.products("organic_viral", coarse=False):
        pk = _episode(small_run, pid)["peak_ms"]
        organic_creators.append(
            distinct(small_run.window(pid, pk - 12 * HOUR_MS, pk + 12 * HOUR_MS), "creator_id")
        )
    for pid in small_run.products("exogenous_spike"):
        ep = _episode(small_run, pid)
        assert ep["peak_ms"] - ep["onset_ms"] <= 6 * HOUR_MS
        views = small_run.hourly(pid)
        onset = small_run.hour_of(ep["onset_ms"])
        spike = views[onset : onset + 6].max()
        if onset >= 6:
            assert spike > 4 * max(views[max(0, onset - 24) : onset].mean(), 1.0), pid
        if onset + 30 <= small_run.hours:
            assert views[onset + 24 : onset + 30].mean() < 0.25 * spike, "fast decay"
        if not small_run.truth["products"][pid]["coarse"]:
            window = small_run.window(pid, ep["onset_ms"], ep["onset_ms"] + 24 * HOUR_MS)
            assert distinct(window, "creator_id") < np.median(organic_creators)


def test_category_surge_lifts_every_product_of_the_category(small_run: Run) -> None:
    plan = build_plan(SCENARIOS["small"], SEED)
    surge = small_run.products("category_surge")
    categories = {small_run.truth["products"][p]["category"] for p in surge}
    assert len(categories) == SCENARIOS["small"].n_surge_categories
    in_category = [p for p, t in small_run.truth["products"].items() if t["category"] in categories]
    assert sorted(in_category) == sorted(surge), "the whole category, nothing else"
    ids = list(plan.catalogue.product_id)
    before_all = during_all = 0.0
    for pid in surge:
        ep = _episode(small_run, pid)
        onset, peak = small_run.hour_of(ep["onset_ms"]), small_run.hour_of(ep["peak_ms"])
        assert plan.multiplier[ids.index(pid), peak] > 1.5
        views = small_run.hourly(pid)
        before = views[max(0, onset - 24) : onset].sum()
        during = views[peak - 12 : peak + 12].sum()
        before_all, during_all = before_all + before, during_all + during
        if before >= 20:
            assert during > before, pid
    assert during_all > 1.5 * before_all


def test_slow_growers_grow_smoothly() -> None:
    plan = build_plan(SCENARIOS["small"], SEED)
    slow = plan.catalogue.kind == SLOW
    assert slow.any()
    daily = plan.multiplier[slow][:, 24::24] / plan.multiplier[slow][:, :-24:24]
    lo, hi = SCENARIOS["small"].slow_growth_per_day
    assert np.all((daily > np.exp(lo) - 1e-3) & (daily < np.exp(hi) + 1e-3))


def test_baseline_demand_is_heavy_tailed(small_run: Run) -> None:
    base = build_plan(SCENARIOS["standard"], SEED).catalogue.base_views
    assert np.quantile(base, 0.9) > 3 * np.median(base)
    assert np.sort(base)[-10:].sum() > 0.07 * base.sum()  # top 1% of products, ~14% expected
    background = small_run.products("background", coarse=False)
    views = np.sort([small_run.hourly(pid).sum() for pid in background])
    assert views[-1] > 3 * np.median(views)


def test_daily_rhythm_in_wib(small_run: Run) -> None:
    by_hour = np.zeros(24)
    for pid in small_run.products("background"):
        views = small_run.hourly(pid)
        by_hour += views.reshape(-1, 24).sum(axis=0)  # runs start at 00:00 WIB
    assert by_hour[19:22].mean() > 4 * by_hour[2:5].mean()
