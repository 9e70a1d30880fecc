"""What a seller could do about a rising product, and where to see it sold and posted.

Plain suggestions from what the score already says (how likely, at which alert tier, on
which platforms, in which provinces); nothing here is a promise, and nothing is shown for
a product that is neither rising nor at an alert tier.
"""

from __future__ import annotations

from urllib.parse import quote_plus

from services.api.i18n import Lang, is_rising, phrase
from shared.regions import province_name

PLATFORM_NAMES = {
    "tiktok": "TikTok",
    "instagram": "Instagram",
    "youtube": "YouTube",
    "facebook": "Facebook",
    "x": "X",
    "shopee": "Shopee",
    "tokopedia": "Tokopedia",
    "lazada": "Lazada",
}
MARKETPLACES = ("shopee", "tokopedia", "lazada")
SOCIAL = ("tiktok", "instagram", "youtube", "facebook", "x")
# Public search pages: events carry no post links, so these show the posts and listings
# (with their prices) that match the product's name.
SEARCH_URLS = {
    "tiktok": "https://www.tiktok.com/search?q=",
    "instagram": "https://www.instagram.com/explore/search/keyword/?q=",
    "youtube": "https://www.youtube.com/results?search_query=",
    "facebook": "https://www.facebook.com/search/top?q=",
    "x": "https://x.com/search?q=",
    "shopee": "https://shopee.co.id/search?keyword=",
    "tokopedia": "https://www.tokopedia.com/search?q=",
    "lazada": "https://www.lazada.co.id/catalog/?q=",
}

# By the level `phrase` gives: how far to go on stock.
STOCK: dict[str, dict[Lang, str]] = {
    "p5": {
        "id": "Peluangnya besar dalam 24 jam: siapkan bahan dan stok sekarang.",
        "en": "A good chance within 24 h: get materials and stock ready now.",
    },
    "p4": {
        "id": "Peluangnya besar dalam 24 jam: siapkan bahan dan stok sekarang.",
        "en": "A good chance within 24 h: get materials and stock ready now.",
    },
    "p3": {
        "id": "Coba dulu dengan stok sedikit, tambah kalau laku.",
        "en": "Try a small batch first, and make more if it sells.",
    },
    "p2": {
        "id": "Siapkan bahan, tapi tunggu tanda yang lebih kuat sebelum menambah stok.",
        "en": "Get materials ready, but wait for a stronger sign before stocking up.",
    },
}


def platform_list(codes: list[str]) -> str:
    """'TikTok, Shopee': known platforms by name, in the order given ('other' left out)."""
    return ", ".join(PLATFORM_NAMES[c] for c in codes if c in PLATFORM_NAMES)


# An alert tier is a stronger sign than the 24 h chance alone: a confident alert (at a
# chance from 0.4) came before a real viral peak in nine of ten cases, and a heads-up is
# the time to get materials ready. The tier sets the least the advice says (levels p1-p5
# order as their names do).
TIER_STOCK = {"confident": "p4", "heads_up": "p2"}


def first_step(probability: float, lang: Lang, tier: str | None = None) -> str | None:
    """The one line a card has room for: how far to go on stock, by the chance and the
    alert tier the product is at (None when neither says it is rising)."""
    floor = TIER_STOCK.get(tier or "")
    if not is_rising(probability) and floor is None:
        return None
    level = phrase(probability, lang)[0]
    return STOCK[max(level, floor or level)][lang]


def advice(
    probability: float,
    platforms: list[str],
    regions: list[str],
    lang: Lang,
    tier: str | None = None,
) -> list[str]:
    """Up to four suggestions: stock, where to list or post it, whom to offer it to first."""
    step = first_step(probability, lang, tier)
    if step is None:
        return []
    out = [step]
    shops = platform_list([p for p in platforms if p in MARKETPLACES])
    if shops:
        out.append(
            f"Jual di {shops} dengan nama yang mirip, supaya muncul saat orang mencarinya."
            if lang == "id"
            else f"List yours on {shops} under a similar name, so buyers searching find it."
        )
    social = platform_list([p for p in platforms if p in SOCIAL])
    if social:
        out.append(
            f"Unggah video atau foto singkat produk Anda di {social}."
            if lang == "id"
            else f"Post a short video or photo of yours on {social}."
        )
    if regions:
        names = ", ".join(province_name(c) for c in regions[:2])
        out.append(
            f"Tawarkan dulu ke pembeli di {names}: di sana produk ini sedang dicari."
            if lang == "id"
            else f"Offer it first to buyers in {names}: that is where people look for it."
        )
    return out[:4]


def search_links(name: str, platforms: list[str]) -> list[tuple[str, str]]:
    """(platform name, search URL for `name`) for each platform it was seen on."""
    return [
        (PLATFORM_NAMES[p], SEARCH_URLS[p] + quote_plus(name))
        for p in platforms
        if p in SEARCH_URLS
    ]
