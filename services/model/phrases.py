"""Reasons in words: the model's top contributions as short phrases (Bahasa Indonesia, English).

Each input column belongs to a family with one phrase pair that reads the row's own
values (so "6 jam terakhir 8× lebih ramai" quotes this product's figure, not the model's
internals). Pure: a row's values in, phrases out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

Row = Mapping[str, float | None]
Phrase = tuple[str, str]

ACTIONS_ID = {
    "view": "penayangan", "like": "suka", "comment": "komentar", "share": "bagikan",
    "save": "simpan", "search": "pencarian", "add_to_cart": "masuk keranjang",
    "purchase": "pembelian", "events": "interaksi",
}  # fmt: skip
ACTIONS_EN = {
    "view": "views", "like": "likes", "comment": "comments", "share": "shares",
    "save": "saves", "search": "searches", "add_to_cart": "add-to-carts",
    "purchase": "purchases", "events": "engagement events",
}  # fmt: skip
WINDOW_ID = {"5m": "5 menit", "1h": "1 jam", "6h": "6 jam", "24h": "24 jam", "7d": "7 hari"}
WINDOW_EN = {"5m": "5 min", "1h": "1 h", "6h": "6 h", "24h": "24 h", "7d": "7 days"}


def num(x: float | None, lang: str, digits: int = 0) -> str:
    """1234.5 -> '1.234' (id) / '1,234' (en); digits after the decimal mark when asked."""
    text = f"{x or 0.0:,.{digits}f}"
    return text.translate(str.maketrans(",.", ".,")) if lang == "id" else text


def pct(x: float | None) -> str:
    return f"{round(100 * (x or 0.0))}%"


def _where(row: Row) -> tuple[str, str]:
    n = row.get("regions_24h") or 0
    if n < 2:
        return "", ""
    return f" di {num(n, 'id')} provinsi", f" across {num(n, 'en')} provinces"


def _growth(
    col: str, span_id: str, base_id: str, span_en: str, base_en: str
) -> Callable[[Row], Phrase]:
    def phrase(row: Row) -> Phrase:
        g = row.get(col) or 0.0
        wid, wen = _where(row)
        return (
            f"{span_id} {num(g, 'id', 1)}× {base_id}{wid}",
            f"{span_en} {num(g, 'en', 1)}× {base_en}{wen}",
        )

    return phrase


FAMILIES: dict[str, Callable[[Row], Phrase]] = {
    "growth_1h_vs_24h": _growth(
        "growth_1h_vs_24h", "interaksi 1 jam terakhir naik", "rata-rata per jam hari ini",
        "engagement in the last hour rose", "the day's hourly average",
    ),
    "growth_6h_vs_24h": _growth(
        "growth_6h_vs_24h", "interaksi naik", "dalam 6 jam",
        "engagement rose", "in 6 h",
    ),
    "growth_24h_vs_7d": _growth(
        "growth_24h_vs_7d", "24 jam terakhir", "rata-rata seminggu",
        "the last 24 h ran at", "the weekly average",
    ),
    "volume_vs_daily_mean": _growth(
        "volume_vs_daily_mean", "sehari terakhir", "lebih ramai dari biasanya",
        "the last day was", "busier than usual",
    ),
    "volume_6h_vs_daily_mean": _growth(
        "volume_6h_vs_daily_mean", "6 jam terakhir", "lebih ramai dari biasanya",
        "the last 6 h ran", "busier than usual",
    ),
    "volume_1h_vs_daily_mean": _growth(
        "volume_1h_vs_daily_mean", "1 jam terakhir", "lebih ramai dari biasanya",
        "the last hour ran", "busier than usual",
    ),
    "growth_24h_vs_seen_days": _growth(
        "growth_24h_vs_seen_days", "sehari terakhir", "hari-hari sebelumnya",
        "the last day ran at", "the days before",
    ),
    "rising_horizons": lambda r: (
        f"naik serentak dalam {num(r.get('rising_horizons') or 0, 'id')} rentang waktu",
        f"rising over {num(r.get('rising_horizons') or 0, 'en')} time spans at once",
    ),
    "growth_6h_vs_category": _growth(
        "growth_6h_vs_category", "6 jam terakhir naik", "lebih cepat dari produk sekategori",
        "the last 6 h rose", "faster than its category",
    ),
    "growth_24h_vs_category": _growth(
        "growth_24h_vs_category", "sehari terakhir naik", "lebih cepat dari produk sekategori",
        "the last day rose", "faster than its category",
    ),
    "acceleration": lambda r: ("kenaikannya makin cepat", "growth is speeding up"),
    "creators_6h": lambda r: (
        f"dibahas {num(r.get('creators_6h'), 'id')} kreator dalam 6 jam",
        f"{num(r.get('creators_6h'), 'en')} creators posted about it in 6 h",
    ),
    "creators_24h": lambda r: (
        f"dibahas {num(r.get('creators_24h'), 'id')} kreator dalam 24 jam",
        f"{num(r.get('creators_24h'), 'en')} creators posted about it in 24 h",
    ),
    "creators_6h_vs_24h": lambda r: (
        f"{num(r.get('creators_6h'), 'id')} kreator ikut membahas dalam 6 jam terakhir",
        f"{num(r.get('creators_6h'), 'en')} creators joined in the last 6 h",
    ),
    "new_creator_share_6h": lambda r: (
        f"{pct(r.get('new_creator_share_6h'))} kreator 6 jam terakhir baru membahasnya",
        f"{pct(r.get('new_creator_share_6h'))} of the last 6 h's creators are new to it",
    ),
    "regions_24h": lambda r: (
        f"ramai di {num(r.get('regions_24h'), 'id')} provinsi sekaligus",
        f"busy in {num(r.get('regions_24h'), 'en')} provinces at once",
    ),
    "region_entropy_24h": lambda r: (
        f"menyebar merata di {num(r.get('regions_24h'), 'id')} provinsi",
        f"spread evenly across {num(r.get('regions_24h'), 'en')} provinces",
    ),
    "platforms_24h": lambda r: (
        f"muncul di {num(r.get('platforms_24h'), 'id')} platform",
        f"showing up on {num(r.get('platforms_24h'), 'en')} platforms",
    ),
    "engagement_rate_6h": lambda r: (
        f"{pct(r.get('engagement_rate_6h'))} penonton ikut berinteraksi (6 jam)",
        f"{pct(r.get('engagement_rate_6h'))} of viewers interacted (6 h)",
    ),
    "engagement_rate_24h": lambda r: (
        f"{pct(r.get('engagement_rate_24h'))} penonton ikut berinteraksi (24 jam)",
        f"{pct(r.get('engagement_rate_24h'))} of viewers interacted (24 h)",
    ),
    "quality_6h_vs_7d": lambda r: (
        "penontonnya aktif: suka, komentar dan bagikan ikut naik",
        "a real audience: likes, comments and shares rise with the views",
    ),
    "share_rate_24h": lambda r: (
        f"banyak dibagikan ({pct(r.get('share_rate_24h'))} dari interaksi)",
        f"widely shared ({pct(r.get('share_rate_24h'))} of engagement)",
    ),
    "cart_rate_24h": lambda r: (
        f"{pct(r.get('cart_rate_24h'))} penayangan berujung di keranjang",
        f"{pct(r.get('cart_rate_24h'))} of views end in a cart",
    ),
    "conversion_rate_24h": lambda r: (
        f"{pct(r.get('conversion_rate_24h'))} penayangan berujung pembelian",
        f"{pct(r.get('conversion_rate_24h'))} of views end in a purchase",
    ),
    "hours_since_first_seen": lambda r: (
        f"produk baru: pertama terlihat {num(r.get('hours_since_first_seen'), 'id')} jam lalu",
        f"a new product: first seen {num(r.get('hours_since_first_seen'), 'en')} h ago",
    ),
    "views_only": lambda r: ("sumber hanya melaporkan penayangan", "the source reports views only"),
    "hour_wib": lambda r: (
        f"ramai di jam sibuk ({num(r.get('hour_wib'), 'id')}.00 WIB)",
        f"busy at a peak hour ({num(r.get('hour_wib'), 'en')}:00 WIB)",
    ),
}  # fmt: skip


INTERACTIONS = ("like", "comment", "share", "save", "add_to_cart", "purchase")
REGION_FEATURES = {"regions_24h", "region_entropy_24h"}
CREATOR_FEATURES = {"creators_6h", "creators_24h", "creators_6h_vs_24h", "new_creator_share_6h"}
INTERACTION_FEATURES = {
    "engagement_rate_6h", "engagement_rate_24h", "quality_6h_vs_7d",
    "share_rate_24h", "cart_rate_24h", "conversion_rate_24h",
}  # fmt: skip


def _value(row: Row, name: str) -> float:
    return float(row.get(name) or 0.0)


def supported(feature: str, row: Row) -> bool:
    """Whether the product's own data backs a reason from `feature`.

    A reason may only quote a signal the product's sources report, at a level that says
    something: regions when it is busy in two provinces or more, creators when someone
    posted, interactions when there were some (a views-only counter reports none of
    these, so its reasons are about volume and growth), platforms when more than one. A
    zero can push a model's score up (no regions is how a views-only counter looks), but
    "busy in 0 provinces at once" explains nothing to a seller.
    """
    if feature in REGION_FEATURES:
        return _value(row, "regions_24h") >= 2
    if feature in CREATOR_FEATURES:
        window = "24h" if feature == "creators_24h" else "6h"
        return _value(row, f"creators_{window}") >= 1
    if feature in INTERACTION_FEATURES:
        return _value(row, feature) > 0 and any(_value(row, f"{a}_7d") > 0 for a in INTERACTIONS)
    if feature == "platforms_24h":
        return _value(row, "platforms_24h") >= 2
    if feature == "views_only":  # the kind of source, never a reason for a rise
        return False
    action, _, window = feature.rpartition("_")
    if action in ACTIONS_ID and window in WINDOW_ID:
        return _value(row, feature) > 0
    return True


def phrase(feature: str, row: Row) -> Phrase:
    """(text_id, text_en) for one input column, read from the row's values."""
    if feature in FAMILIES:
        return FAMILIES[feature](row)
    action, _, window = feature.rpartition("_")
    if action in ACTIONS_ID and window in WINDOW_ID:
        n = row.get(feature)
        return (
            f"{num(n, 'id')} {ACTIONS_ID[action]} dalam {WINDOW_ID[window]}",
            f"{num(n, 'en')} {ACTIONS_EN[action]} in {WINDOW_EN[window]}",
        )
    return feature, feature


def reasons(
    features: list[str], contributions: list[float], row: Row, top: int = 3
) -> list[dict[str, str]]:
    """The `top` largest positive contributions as {feature, text_id, text_en}; one phrase
    per distinct text (two windows of one family do not repeat themselves), and only from
    signals the row's sources report (`supported`)."""
    order = sorted(range(len(features)), key=lambda i: -contributions[i])
    out: list[dict[str, str]] = []
    seen: set[str] = set()
    for i in order:
        if contributions[i] <= 0 or len(out) == top:
            break
        if not supported(features[i], row):
            continue
        text_id, text_en = phrase(features[i], row)
        if text_id not in seen:
            seen.add(text_id)
            out.append({"feature": features[i], "text_id": text_id, "text_en": text_en})
    return out
