"""The stock advice follows the alert tier as well as the 24 h chance: a product at the
confident tier is told to stock up even when its 24 h chance reads 'mulai naik'."""

from __future__ import annotations

from services.api.web.advice import STOCK, advice, first_step


def test_the_tier_sets_the_least_the_advice_says() -> None:
    assert first_step(0.1, "id") is None  # neither rising nor at a tier
    assert first_step(0.44, "id") == STOCK["p2"]["id"]  # 'mulai naik' alone: wait
    assert first_step(0.44, "id", "confident") == STOCK["p4"]["id"]  # stock now
    assert first_step(0.1, "en", "heads_up") == STOCK["p2"]["en"]  # get materials ready
    assert first_step(0.9, "id", "heads_up") == STOCK["p5"]["id"]  # the chance says more
    assert advice(0.1, ["shopee"], [], "id") == []
    tips = advice(0.1, ["shopee"], [], "id", "heads_up")
    assert tips[0] == STOCK["p2"]["id"] and len(tips) > 1
