"""A week of scores for a few products, and a real API app filled with them through the intake."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl
from fastapi import FastAPI

from services.api.app import create_app
from shared.scores import SCORE_SCHEMA
from shared.settings import ApiSettings

# 2026-03-01 17:00 UTC = 2026-03-02 00:00 WIB: the newest tick of the fixture data.
NOW_MS = 1_772_384_400_000
STEP_MS = 30 * 60_000
HOUR_MS = 3_600_000
WEEK_STEPS = 7 * 24 * 2


@dataclass(frozen=True)
class Product:
    product_id: str
    name: str
    category: str
    regions: list[str]
    final_probability: float
    rise_hours: float  # hours before NOW_MS when the probability starts climbing to its final value
    reasons: list[dict[str, str]]
    stale: bool = False  # last scored two hours before the others
    platforms: tuple[str, ...] = ()
    price_idr: float | None = None  # the typical price ingest derives from event prices


PRODUCTS = [
    Product(
        "kopi-aren-01",
        "Kopi Susu Gula Aren Literan",
        "minuman",
        ["ID-JT", "ID-JI"],
        0.93,
        10,
        [{"feature": "share_rate_24h", "text_id": "sering dibagikan", "text_en": "often shared"}],
        platforms=("tiktok", "shopee", "other"),
        price_idr=18_437.5,
    ),
    Product("hijab-voal-07", "Hijab Voal Motif", "fashion_muslim", ["ID-JB"], 0.76, 6, []),
    Product("keripik-03", "Keripik Pisang Pedas", "makanan_ringan", ["ID-JT"], 0.55, 4, []),
    Product("serum-11", "Serum Wajah Niacinamide", "kecantikan", ["ID-JK"], 0.2, 0, []),
    Product("teh-tarik-02", "Teh Tarik <Asli> & Co", "minuman", [], 0.08, 0, []),
    Product("basreng-09", "Basreng Level 5", "makanan_ringan", ["ID-JB"], 0.9, 5, [], stale=True),
]


def probability_at(product: Product, tick_ms: int) -> float:
    """0.1 until the rise begins, then a straight climb to the final value at NOW_MS."""
    start_ms = NOW_MS - product.rise_hours * HOUR_MS
    if product.rise_hours == 0 or tick_ms <= start_ms:
        return min(0.1, product.final_probability)
    share = (tick_ms - start_ms) / (NOW_MS - start_ms)
    return 0.1 + share * (product.final_probability - 0.1)


def week_of_scores(products: list[Product] = PRODUCTS) -> pl.DataFrame:
    rows = []
    for product in products:
        last_ms = NOW_MS - (2 * HOUR_MS if product.stale else 0)
        for step in range(WEEK_STEPS):
            tick_ms = last_ms - step * STEP_MS
            p = probability_at(product, tick_ms)
            rows.append(
                {
                    "product_id": product.product_id,
                    "partition": 0,
                    "tick_ms": tick_ms,
                    "watermark_ms": tick_ms,
                    "category": product.category,
                    "product_name": product.name,
                    "top_regions": product.regions,
                    "platforms": list(product.platforms),
                    "probability": p,
                    "score": p * 10,
                    "model_version": "test-1",
                    "reasons": product.reasons,
                    "events_1h": 20.0 + 400.0 * p**2,
                    "events_24h": 2_000.0 + 9_000.0 * p,
                    "growth_6h_vs_24h": 1.0 + 6.0 * p,
                    "creators_24h": round(30 * p),
                    "regions_24h": float(len(product.regions)),
                    "price_idr": product.price_idr,
                }
            )
    return pl.DataFrame(rows, schema=SCORE_SCHEMA)


def make_app(db_path: Path, products: list[Product] | None = PRODUCTS) -> FastAPI:
    app = create_app(
        ApiSettings(
            database_url=f"sqlite:///{db_path}",
            require_api_keys=False,
            run_dispatcher=False,
            trend_max_age_ms=HOUR_MS,
        )
    )
    if products:
        app.state.intake.apply(week_of_scores(products).sort("tick_ms"))
    return app


# A full first page: 15 more products, rising and not, on top of PRODUCTS (20 fresh ones).
MANY_PRODUCTS = PRODUCTS + [
    Product(
        f"contoh-{i:02d}",
        f"Produk Contoh Nomor {i}",
        ("minuman", "makanan_ringan", "kecantikan")[i % 3],
        ["ID-JT", "ID-JB", "ID-JI"][: 1 + i % 3],
        0.12 + 0.055 * i,
        2 + i % 5,
        [],
        platforms=("tiktok", "instagram", "shopee", "tokopedia")[: 1 + i % 4],
        price_idr=12_500.0 + 7_300.0 * i,  # every card with a price: the heaviest list
    )
    for i in range(15)
]
