"""A seller's level: which alert tiers reach them. Pure; no I/O.

The subscribe form offers two: "mulai naik" (the heads-up days ahead and the confident
alert) and "sangat mungkin viral" (the confident alert only). The level is stored as the
subscription's `min_probability` (the floor of its phrase on the page, 0.3 or 0.85), so
subscriptions made before tiers keep their choice; the number is never compared with an
alert's probability, which is the tier's own (24 h or 72 h) and not comparable across tiers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.api.i18n import PHRASES
from shared.alerts import CONFIDENT, HEADS_UP, alert_tier

LEVELS: dict[str, float] = {  # the form's choice → the stored `min_probability`
    "naik": next(floor for floor, level, _ in PHRASES if level == "p2"),
    "viral": next(floor for floor, level, _ in PHRASES if level == "p5"),
}
TIERS: dict[str, frozenset[str]] = {
    "naik": frozenset({HEADS_UP.name, CONFIDENT.name}),
    "viral": frozenset({CONFIDENT.name}),
}


def level_of(min_probability: float) -> str:
    return "viral" if min_probability >= LEVELS["viral"] else "naik"


def wants(min_probability: float, alert: Mapping[str, Any]) -> bool:
    """Does a subscriber at this level get `alert`?"""
    return alert_tier(alert) in TIERS[level_of(min_probability)]
