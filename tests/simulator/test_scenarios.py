"""Scaled presets keep the preset's mix under a name of their own."""

from __future__ import annotations

import pytest

from services.simulator import SCENARIOS, truth_of, with_products


def test_a_scaled_preset_is_named_apart_and_keeps_the_mix() -> None:
    cfg = with_products("small", 30)
    assert (cfg.name, cfg.n_products) == ("small-30", 30)
    assert cfg.share_bot_burst == SCENARIOS["small"].share_bot_burst
    assert with_products("small", None) is SCENARIOS["small"]
    assert with_products("small", SCENARIOS["small"].n_products) is SCENARIOS["small"]
    truth = truth_of(cfg, 4)
    assert truth["scenario"] == "small-30" and len(truth["products"]) == 30


@pytest.mark.parametrize("bad", [("small", 3), ("medium", None)])
def test_bad_presets_are_refused(bad: tuple[str, int | None]) -> None:
    with pytest.raises(ValueError):
        with_products(*bad)
