"""Shape families of a viral rise: each curve climbs from onset to a peak at the rise
length and relaxes after it; a `shapes` run gives every family its turn and launches new
products with nothing before their launch; the older presets keep the cascade."""

from __future__ import annotations

import numpy as np
import pytest

from services.simulator import SCENARIOS, with_products, with_shapes
from services.simulator.episodes import build_plan
from services.simulator.shapes import SHAPE_FAMILIES, rise_curve


@pytest.mark.parametrize("family", SHAPE_FAMILIES)
@pytest.mark.parametrize("rise_h", [24.0, 240.0])
def test_a_rise_climbs_to_its_peak_then_relaxes(family: str, rise_h: float) -> None:
    hours = int(5 * rise_h) + 48  # the relaxation takes up to 1.2 rises (at least a day)
    curve = rise_curve(np.random.default_rng(1), family, rise_h, hours, growth_x=40.0)
    peak = int(rise_h)
    assert curve[0] == pytest.approx(1 / 40, rel=0.05)
    assert curve[peak] == pytest.approx(1.0) and curve.max() == pytest.approx(1.0)
    assert (np.diff(curve[: peak + 1]) >= -1e-12).all()  # never falls on the way up
    assert (np.diff(curve[peak + 1 :]) < 0).all() and curve[-1] < 0.2


def test_a_shapes_run_gives_every_family_its_turn() -> None:
    cfg = with_products("shapes", 150)
    plan = build_plan(cfg, 5)
    products = plan.truth["products"].values()
    shapes = [p["shape"] for p in products if "shape" in p]
    assert set(shapes) == set(SHAPE_FAMILIES)
    leads_d = [
        (p["episodes"][0]["peak_ms"] - p["episodes"][0]["onset_ms"]) / 86_400_000
        for p in products
        if "shape" in p
    ]
    # Targets run from one day to ten; the realised peak (the truth) can come later when a
    # late, far-reaching post outweighs the crest, as a few in this run do.
    assert min(leads_d) >= 0.75 and 1 <= np.median(leads_d) <= 10 and max(leads_d) <= 16
    launched = [
        (pid, p["launch_h"]) for pid, p in plan.truth["products"].items() if "launch_h" in p
    ]
    assert launched
    index = {pid: i for i, pid in enumerate(plan.catalogue.product_id)}
    for pid, hour in launched:
        assert (plan.multiplier[index[pid], :hour] == 0).all()
    left_out = with_shapes(cfg, ("stepwise", "stalled"))
    assert left_out.name == "shapes-150-stepwise+stalled"
    assert {p.get("shape") for p in build_plan(left_out, 5).truth["products"].values()} == {
        None,
        "stepwise",
        "stalled",
    }


def test_the_older_presets_keep_the_cascade() -> None:
    for name in ("small", "standard", "hard"):
        assert SCENARIOS[name].viral_shapes == () and SCENARIOS[name].share_new_products == 0
    with pytest.raises(ValueError, match="unknown shape"):
        with_shapes("standard", ("zigzag",))
