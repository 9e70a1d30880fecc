"""Post text for simulated events: what a matcher and the term counter would read.

Only with `simulate --text`. Every product gets a shop name ("Bu Sari", "Dapur Nita"),
unique in the run, so its text name ("Keripik Pisang Pedas Bu Sari") names one product;
the run's catalogue CSV lists those names. Each product has `VARIANTS` posts written at
plan time with the noise real posts carry: slang spellings (kripik, sambel), a dropped
vowel, stretched letters (bangeeet), the product as a hashtag, generic hashtags (#fyp);
an event gathers one of them (columnar, no per-event Python).

One strong organic trend becomes an emerging product: its posts name a new kind of
product ("Es Kopi Pandan") that is in no catalogue, so it can only surface as a term.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import orjson

from shared.catalogue import CatalogueProduct
from shared.text.lexicon import lexicon

VARIANTS = 8
_PREFIXES = (
    "Bu", "Mak", "Dapur", "Kedai", "Toko", "Omah", "Warung", "Rumah", "Griya", "Pawon",
    "Sentra", "Galeri", "Kios", "Lapak", "Saung", "Teras", "Kampung", "Bengkel", "Studio",
    "Pondok",
)  # fmt: skip
_GIVEN = (
    "Sari", "Ijah", "Nita", "Rini", "Wati", "Yuli", "Tini", "Ani", "Dewi", "Lastri",
    "Murni", "Endah", "Ratna", "Siti", "Tuti", "Yanti", "Ningsih", "Asih", "Iin", "Euis",
    "Neneng", "Komang", "Ketut", "Made", "Wayan", "Ucok", "Butet", "Daeng", "Acong", "Mamat",
    "Asep", "Ujang", "Dadang", "Jajang", "Cecep", "Slamet", "Paijo", "Karto", "Wiji", "Darmi",
    "Sumi", "Parmi", "Juminten", "Ponirah", "Sukijah", "Melati", "Kenanga", "Cempaka", "Anggrek",
    "Mawar", "Kartini", "Srikandi", "Larasati", "Gendis", "Arum", "Ayu", "Laksmi", "Mirah",
    "Intan", "Permata",
)  # fmt: skip
_OPENERS = (
    "", "", "Nemu", "Akhirnya cobain", "Lagi viral", "Wajib punya", "Review jujur", "Restock",
    "POV: pertama kali beli", "Guys ini", "Racun baru:", "Udah repeat order",
)  # fmt: skip
_COMMENTS = (
    "enak bgt", "murmer parah", "recommended bgt", "bagus bangeeet", "mantul pokoknya",
    "worth it sih", "ga nyesel beli", "kualitasnya oke", "pengiriman cepet", "bakal beli lagi",
    "sumpah nagih", "harga bersahabat", "cocok buat kado", "anak2 suka", "must try guys",
    "", "",
)  # fmt: skip
_GENERIC = ("#fyp", "#viral", "#racuntiktok", "#umkm", "#produklokal", "#fypシ", "#tiktokshop")
EMERGING_NAMES = (
    "Es Kopi Pandan",
    "Croffle Rendang",
    "Cireng Isi Ayam Suwir",
    "Tahu Walik Mercon",
    "Keset Anyaman Eceng",
)
_VOWELS = "aiueo"


def shop_names(n: int, rng: np.random.Generator) -> list[str]:
    """`n` distinct shop names; past the 1,200 combinations a number tells them apart."""
    combos = [f"{p} {g}" for p in _PREFIXES for g in _GIVEN]
    order = rng.permutation(len(combos))
    return [
        combos[order[i % len(combos)]] + ("" if i < len(combos) else f" {i // len(combos)}")
        for i in range(n)
    ]


def _slang_spellings() -> dict[str, str]:
    """Normal word → a slang spelling of it, from the normaliser's own dictionary."""
    out: dict[str, str] = {}
    for written, normal in lexicon().slang.items():
        if len(normal) == 1 and written.isalpha() and written != normal[0]:
            out.setdefault(normal[0], written)
    return out


def _noisy(words: list[str], rng: np.random.Generator, slang: dict[str, str]) -> list[str]:
    out = []
    for w in words:
        if w in slang and rng.random() < 0.5:
            w = slang[w]
        elif len(w) >= 6 and rng.random() < 0.2:  # a dropped vowel
            vowels = [i for i, c in enumerate(w[1:-1], 1) if c in _VOWELS]
            if vowels:
                i = vowels[rng.integers(len(vowels))]
                w = w[:i] + w[i + 1 :]
        out.append(w)
    return out


def _stretch(text: str, rng: np.random.Generator) -> str:
    """bagus → baguuus: one vowel of the last word stretched."""
    last = text.rsplit(" ", 1)[-1]
    spots = [i for i, c in enumerate(last) if c in _VOWELS]
    if not spots:
        return text
    i = spots[-1]
    return text[: len(text) - len(last)] + last[:i] + last[i] * 3 + last[i + 1 :]


def post_variants(
    mention: str, shop: str, rng: np.random.Generator, slang: dict[str, str]
) -> list[str]:
    """`VARIANTS` posts about the thing called `mention` (sold by `shop`, if any)."""
    posts = []
    words = mention.lower().split()
    shop_words = shop.lower().split()
    for v in range(VARIANTS):
        form = v % 4
        if form == 0:  # the listing's own title
            named = " ".join(words + shop_words)
        elif form == 1:  # slang and typos
            named = " ".join(_noisy(words, rng, slang) + shop_words)
        elif form == 2:  # the product as a hashtag, the shop in words
            named = "#" + "".join(words) + (" " + " ".join(shop_words) if shop_words else "")
        else:  # the kind and the shop, the variant left out
            named = " ".join(words[:2] + shop_words) if shop_words else " ".join(words)
        comment = _COMMENTS[rng.integers(len(_COMMENTS))]
        if comment and rng.random() < 0.4:
            comment = _stretch(comment, rng)
        opener = _OPENERS[rng.integers(len(_OPENERS))]
        tags = list(rng.choice(_GENERIC, size=int(rng.integers(0, 4)), replace=False))
        text = " ".join(p for p in (opener, named, comment, *tags) if p)
        if rng.random() < 0.1:
            text = text.upper()
        posts.append(text + (" 😍" if rng.random() < 0.3 else ""))
    return posts


@dataclass(frozen=True)
class PostTexts:
    """Per product: its shop, its text name, and `VARIANTS` posts as JSON strings."""

    shop: list[str]
    text_name: list[str]
    json_posts: list[str]  # product p, variant v at p * VARIANTS + v
    emerging: int  # product index of the emerging product, -1 if none
    emerging_name: str


def build_post_texts(
    names: list[str], emerging: int, seed: int, emerging_name: str | None = None
) -> PostTexts:
    """Posts for products called `names`; product `emerging` (-1: none) gets a new name."""
    rng = np.random.default_rng([seed, 0x7E47])
    shops = shop_names(len(names), rng)
    new_name = emerging_name or EMERGING_NAMES[int(rng.integers(len(EMERGING_NAMES)))]
    slang = _slang_spellings()
    text_names, posts = [], []
    for p, (name, shop) in enumerate(zip(names, shops, strict=True)):
        if p == emerging:
            text_names.append(new_name)
            posts += post_variants(new_name, "", rng, slang)
        else:
            text_names.append(f"{name} {shop}")
            posts += post_variants(name, shop, rng, slang)
    return PostTexts(
        shops,
        text_names,
        [orjson.dumps(p).decode() for p in posts],
        emerging,
        new_name if emerging >= 0 else "",
    )


def catalogue_products(
    product_ids: list[str], names: list[str], categories: list[str], texts: PostTexts
) -> list[CatalogueProduct]:
    """The run's catalogue: every product but the emerging one, named with its shop; a post
    names it when it has the product's first two words and the shop (all keywords)."""
    out = []
    for p, (pid, name, category) in enumerate(zip(product_ids, names, categories, strict=True)):
        if p == texts.emerging:
            continue
        keywords = tuple(name.lower().split()[:2] + texts.shop[p].lower().split())
        out.append(CatalogueProduct(pid, texts.text_name[p], category, keywords=keywords))
    return out
