"""Calendar effects that move whole categories at once: they are demand, not trends.

Everything is in WIB (UTC+7), where most Indonesian traffic lives: a daily rhythm (quiet
02:00-05:00, lunch bump, evening peak), a weekly rhythm, payday (25th to the 1st, when
salaries land), the marketplaces' double-date sales (9.9, 10.10, 11.11, 12.12 Harbolnas and
smaller ones every month, with a flash-sale rush right after midnight and cart-filling the
evening before) and Ramadan (sahur and post-iftar peaks, food and Muslim fashion rising
towards Lebaran, then a quiet Eid). A detector that fires on these is wrong by design.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from .categories import CATEGORIES
from .platforms import CART, N_ACTIONS, PURCHASE, SAVE, SEARCH

_DIURNAL = np.array(
    [
        0.45,
        0.28,
        0.18,
        0.13,
        0.15,
        0.30,
        0.55,
        0.75,
        0.85,
        0.90,
        0.95,
        1.00,
        1.10,
        1.05,
        0.95,
        0.90,
        0.95,
        1.05,
        1.20,
        1.45,
        1.60,
        1.55,
        1.25,
        0.80,
    ]
)
_DIURNAL_RAMADAN = np.array(
    [
        0.55,
        0.35,
        0.45,
        0.85,
        0.80,
        0.35,
        0.30,
        0.45,
        0.60,
        0.70,
        0.75,
        0.75,
        0.75,
        0.70,
        0.70,
        0.75,
        0.85,
        0.90,
        0.95,
        1.55,
        1.75,
        1.70,
        1.45,
        0.95,
    ]
)
DIURNAL_WIB = _DIURNAL / _DIURNAL.mean()
DIURNAL_RAMADAN = _DIURNAL_RAMADAN / _DIURNAL_RAMADAN.mean()
WEEKLY = np.array([0.96, 0.95, 0.97, 0.98, 1.02, 1.08, 1.04])  # Monday first
# Shopping on a sales day by WIB hour: the midnight flash sale, then the evening.
_FLASH = np.array(
    [
        3.0,
        2.2,
        1.0,
        0.6,
        0.5,
        0.5,
        0.6,
        0.8,
        1.0,
        1.0,
        1.0,
        1.0,
        1.2,
        1.0,
        1.0,
        0.9,
        0.9,
        1.0,
        1.1,
        1.3,
        1.4,
        1.4,
        1.2,
        1.0,
    ]
)
# (1 Ramadan, 1 Syawal) as set by the Indonesian government; later years are estimates.
RAMADAN: dict[int, tuple[date, date]] = {
    2024: (date(2024, 3, 12), date(2024, 4, 10)),
    2025: (date(2025, 3, 1), date(2025, 3, 31)),
    2026: (date(2026, 2, 19), date(2026, 3, 20)),
    2027: (date(2027, 2, 8), date(2027, 3, 10)),
}
_BIG_SALES = {9: 1.0, 10: 1.0, 11: 1.4, 12: 1.5}


@dataclass(frozen=True)
class CalendarEffects:
    """Per simulated hour: overall attention, per-category view lift, per-action lift.

    `attention[h]` is the daily x weekly rhythm everyone shares; `views[h, c]` adds the
    category's calendar lift on views; `actions[h, c, a]` multiplies each action's per-view
    rate (sales days raise carts and purchases much more than views).
    """

    attention: np.ndarray
    views: np.ndarray
    actions: np.ndarray
    entries: list[dict[str, object]]


def sales_day_strength(d: date) -> tuple[str, float] | None:
    """Double-date campaign on `d` (name, strength) or None."""
    if d.day != d.month:
        return None
    name = f"{d.month}.{d.day}" + (" Harbolnas" if d.month == 12 else "")
    return name, _BIG_SALES.get(d.month, 0.5)


def _ramadan_day(d: date) -> tuple[int, bool]:
    """(day of Ramadan 1..30 or 0, whether d is Eid al-Fitr or the day after)."""
    first, eid = RAMADAN.get(d.year, (date.min, date.min))
    if first <= d < eid:
        return (d - first).days + 1, False
    return 0, d in (eid, eid + timedelta(days=1))


def _is_payday(d: date) -> bool:
    return d.day >= 25 or d.day == 1


def build_calendar(start: date, days: int) -> CalendarEffects:
    """Calendar multipliers for `days` days from `start` 00:00 WIB, hour by hour."""
    n_cat = len(CATEGORIES)
    sens = np.array([c.sales_sensitivity for c in CATEGORIES])
    lift = np.array([c.ramadan_lift for c in CATEGORIES])
    attention = np.empty(days * 24)
    views = np.ones((days * 24, n_cat))
    actions = np.ones((days * 24, n_cat, N_ACTIONS))
    for day in range(days):
        d = start + timedelta(days=day)
        rday, eid = _ramadan_day(d)
        rhythm = DIURNAL_RAMADAN if rday else DIURNAL_WIB
        sl = slice(day * 24, day * 24 + 24)
        attention[sl] = rhythm * WEEKLY[d.weekday()] * (0.7 if eid else 1.0)
        view_c = np.ones(n_cat)
        shop = np.ones((24, n_cat))
        wish = np.ones((24, n_cat))
        if _is_payday(d):
            shop *= 1.0 + 0.25 * (0.5 + 0.5 * sens)
            view_c *= 1.04
        today = sales_day_strength(d)
        if today:
            s = today[1]
            view_c *= 1.0 + 0.3 * s * sens
            shop *= 1.0 + 1.5 * s * sens[None, :] * _FLASH[:, None]
        tomorrow = sales_day_strength(d + timedelta(days=1))
        if tomorrow:  # carts fill up in the evening before the midnight sale
            evening = (np.arange(24) >= 17)[:, None]
            wish *= 1.0 + 0.8 * tomorrow[1] * sens[None, :] * evening
            view_c *= 1.0 + 0.1 * tomorrow[1] * sens
        if rday:
            view_c *= 1.0 + 0.4 * lift
            shop *= 1.0 + lift * (0.4 + 1.2 * rday / 30.0)
        if eid:
            shop *= 0.4
        views[sl] = view_c[None, :]
        actions[sl, :, SAVE] = wish
        actions[sl, :, SEARCH] = np.sqrt(shop)
        actions[sl, :, CART] = shop * wish
        actions[sl, :, PURCHASE] = shop
    return CalendarEffects(attention, views, actions, _entries(start, days))


def _entries(start: date, days: int) -> list[dict[str, object]]:
    """The calendar events inside the period, for truth.json."""
    out: list[dict[str, object]] = []
    payday_from: date | None = None
    for day in range(days + 1):
        d = start + timedelta(days=day)
        inside = day < days
        if inside and (sale := sales_day_strength(d)):
            out.append(
                {"kind": "sales_day", "date": d.isoformat(), "name": sale[0], "strength": sale[1]}
            )
        if inside and _is_payday(d) and payday_from is None:
            payday_from = d
        elif payday_from is not None and (not inside or not _is_payday(d)):
            out.append(
                {
                    "kind": "payday",
                    "date": payday_from.isoformat(),
                    "end": (d - timedelta(days=1)).isoformat(),
                    "name": "gajian",
                }
            )
            payday_from = None
    end = start + timedelta(days=days - 1)
    for year in {start.year, end.year}:
        if year not in RAMADAN:
            continue
        first, eid = RAMADAN[year]
        if first <= end and eid - timedelta(days=1) >= start:
            out.append(
                {
                    "kind": "ramadan",
                    "date": first.isoformat(),
                    "end": (eid - timedelta(days=1)).isoformat(),
                    "name": "Ramadan",
                }
            )
        if start <= eid <= end:
            out.append({"kind": "eid_al_fitr", "date": eid.isoformat(), "name": "Idul Fitri"})
    return sorted(out, key=lambda e: str(e["date"]))
