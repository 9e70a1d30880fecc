"""The building blocks: calendar, dynamics and scenarios."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, replace
from datetime import date

import numpy as np
import pytest

from services.simulator import SCENARIOS, ScenarioConfig, iter_event_lines
from services.simulator.calendar import build_calendar
from services.simulator.categories import CATEGORY_KEYS
from services.simulator.dynamics import (
    adoption,
    calibrate_speed,
    memory_kernel,
    response_kernel,
    smooth_daily,
    spread,
)
from services.simulator.platforms import PURCHASE, SAVE
from services.simulator.regions import REGION_CODES


def test_harbolnas_lifts_purchases_and_the_eve_fills_carts() -> None:
    cal = build_calendar(date(2025, 12, 10), 4)
    fashion = CATEGORY_KEYS.index("fashion")
    day = {d: slice(24 * i, 24 * i + 24) for i, d in enumerate((10, 11, 12, 13))}
    assert cal.actions[day[12], fashion, PURCHASE].mean() > 2.0
    assert cal.actions[day[12], fashion, PURCHASE][0] > cal.actions[day[12], fashion, PURCHASE][4]
    assert cal.actions[day[11], fashion, SAVE][20] > 1.5
    assert cal.actions[day[13], fashion, PURCHASE].mean() < 1.01
    names = [e["name"] for e in cal.entries if e["kind"] == "sales_day"]
    assert names == ["12.12 Harbolnas"]


def test_ramadan_shifts_the_day_and_lifts_muslim_fashion() -> None:
    cal = build_calendar(date(2026, 2, 16), 10)  # Ramadan 1447 H from 19 Feb 2026
    before, during = slice(0, 24), slice(5 * 24, 6 * 24)
    sahur = 3
    assert cal.attention[during][sahur] > 2 * cal.attention[before][sahur]
    muslim = CATEGORY_KEYS.index("fashion_muslim")
    gadgets = CATEGORY_KEYS.index("gawai_aksesoris")
    assert cal.views[during, muslim].mean() > 1.3 * cal.views[before, muslim].mean()
    assert cal.views[during, gadgets].mean() < 1.05 * cal.views[before, gadgets].mean()
    assert any(e["kind"] == "ramadan" for e in cal.entries)


def test_payday_lifts_shopping_not_a_product() -> None:
    cal = build_calendar(date(2025, 11, 20), 12)
    payday, normal = slice(6 * 24, 7 * 24), slice(0, 24)  # 26 Nov vs 20 Nov
    assert (cal.actions[payday, :, PURCHASE] > cal.actions[normal, :, PURCHASE]).all()
    assert [e["kind"] for e in cal.entries] == ["payday"]


def test_response_kernel_is_a_power_law_that_sums_to_one() -> None:
    k = response_kernel(24 * 60, tau_h=2.0, theta=0.5)
    assert k.sum() == pytest.approx(1.0)
    assert np.all(np.diff(k) < 0)
    # Tail slope on log-log axes is -(1 + theta).
    a = np.array([200, 800])
    slope = np.diff(np.log(k[a])) / np.diff(np.log(a))
    assert slope[0] == pytest.approx(-1.5, abs=0.05)


def test_self_exciting_adoption_hits_the_calibrated_peak() -> None:
    rhythm = np.ones(24 * 12)
    memory = memory_kernel(len(rhythm))
    p, q = calibrate_speed(rhythm, 10, 300.0, 100.0, memory, 2, 72.0)
    assert q / p == pytest.approx(100.0)
    mean = adoption(None, rhythm, 10, 300.0, p, q, memory, 2)
    mean[10] = 0.0
    assert abs(int(np.argmax(smooth_daily(mean))) - 10 - 72) <= 3
    rng = np.random.default_rng(0)
    draws = adoption(rng, rhythm, 10, 300.0, p, q, memory, 2)
    assert draws.sum() == 300 and draws[:10].sum() == 0
    early = draws[10:34].sum()
    assert early < draws[58:82].sum(), "slow start, then acceleration"


def test_spread_starts_at_the_seeds_and_widens() -> None:
    rng = np.random.default_rng(0)
    labels = spread(rng, 500, np.array([3]), 0.15, rng.integers(0, 38, 500))
    assert labels[0] == 3
    assert len(set(labels[:10].tolist())) <= 3
    assert len(set(labels.tolist())) > 10


def test_scenarios_are_frozen_and_scaled() -> None:
    small, standard, hard = SCENARIOS["small"], SCENARIOS["standard"], SCENARIOS["hard"]
    with pytest.raises(FrozenInstanceError):
        small.n_products = 5  # type: ignore[misc]
    assert small.n_products * small.days < standard.n_products * standard.days
    assert hard.share_exogenous_spike > standard.share_exogenous_spike
    assert hard.share_bot_burst > standard.share_bot_burst
    assert hard.count_dispersion < standard.count_dispersion
    assert hard.viral_region_novelty < standard.viral_region_novelty
    assert len(REGION_CODES) == 38


def test_custom_config_runs_through_the_stream() -> None:
    tiny: ScenarioConfig = replace(SCENARIOS["small"], name="tiny", n_products=20, days=2)
    hours = list(iter_event_lines(tiny, 5))
    assert len(hours) == 48
    assert sum(len(lines) for _, lines in hours) > 1000
