"""The report's tier rows name the threshold each tier fires at (not the confident one)."""

from __future__ import annotations

from services.evaluation.report import with_tiers
from shared.alerts import AlertRules


def test_each_tier_row_names_its_own_threshold() -> None:
    rules = AlertRules(
        threshold=0.56, rearm_below=0.4, heads_up_threshold=0.2, heads_up_rearm_below=0.13
    )
    method = {
        "label": "model v1",
        "knob": "threshold",
        "value": 0.56,
        "rules": {"threshold": 0.56, "heads_up_threshold": rules.heads_up_threshold},
        "overall": {"precision": 1.0},
        "per_tier": {"heads_up": {"precision": 0.8}, "either": {"precision": 0.9}},
    }
    confident, heads_up, either = with_tiers([method])
    assert (confident["knob"], confident["value"]) == ("threshold", 0.56)
    assert (heads_up["knob"], heads_up["value"]) == ("72 h threshold", 0.2)
    assert heads_up["overall"] == {"precision": 0.8}
    assert f"{either['knob']} = {either['value']:g}" == "threshold = 0.56, 72 h threshold = 0.2"


def test_a_method_without_a_heads_up_tier_keeps_its_setting() -> None:
    method = {"label": "growth", "knob": "ratio", "value": 3.0, "overall": {}, "per_tier": {}}
    assert with_tiers([method]) == [method]
