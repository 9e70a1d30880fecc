"""The emerging-term query (GET /v1/emerging and the seller page's "Baru muncul") over a
SQLite store of many rising terms and a large catalogue.

    python -m bench.emerging_query [--terms 5000] [--products 2000] [--calls 10]

Half the terms rise; the catalogue names the first `--products` of them by hashtag, so
the query passes over those to find the new ones. Reports milliseconds per call with the
app's term index warm (the catalogue unchanged since the last call).
"""

from __future__ import annotations

import argparse
import tempfile
import time

import polars as pl

from services.api.app import create_app
from services.api.catalogue_store import apply_products
from services.api.terms import TermIndexes, emerging_terms
from shared.catalogue import CatalogueProduct
from shared.scores import SCORE_SCHEMA
from shared.settings import ApiSettings

TICK_MS = 1_772_409_600_000
HOUR_MS = 3_600_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--terms", type=int, default=5000)
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument("--calls", type=int, default=10)
    args = parser.parse_args()
    directory = tempfile.mkdtemp(prefix="pantau-bench-emerging-")
    app = create_app(
        ApiSettings(
            database_url=f"sqlite:///{directory}/api.db",
            require_api_keys=False,
            run_dispatcher=False,
        )
    )
    rows = [
        {
            "product_id": f"term:kata-{i}-baru",
            "partition": 0,
            "tick_ms": TICK_MS,
            "watermark_ms": TICK_MS,
            "category": None,
            "product_name": f"kata {i} baru",
            "top_regions": [],
            "platforms": [],
            "probability": 0.2 + 0.7 * (i % 2),
            "score": float(i),
            "model_version": "bench-1",
            "reasons": [],
            "events_1h": 1.0,
            "events_24h": 2.0,
            "growth_6h_vs_24h": 1.0,
            "creators_24h": 3.0,
            "regions_24h": 0.0,
        }
        for i in range(args.terms)
    ]
    app.state.intake.apply(pl.DataFrame(rows, schema=SCORE_SCHEMA))
    products = tuple(
        CatalogueProduct(
            f"p{i}",
            f"Produk {i} Lokal",
            aliases=(f"produk lokal {i}",),
            keywords=("produk", str(i)),
            hashtags=(f"kata{i}baru",),
        )
        for i in range(args.products)
    )
    with app.state.sessionmaker.begin() as session:
        apply_products(session, products)
    indexes = TermIndexes()
    with app.state.sessionmaker() as session:
        emerging_terms(session, HOUR_MS, 20, indexes)  # warm: the index is built once
        start = time.perf_counter()
        for _ in range(args.calls):
            found = emerging_terms(session, HOUR_MS, 20, indexes)
        elapsed_ms = (time.perf_counter() - start) / args.calls * 1000
    print(
        f"{args.terms} term scores ({args.terms // 2} rising), {args.products} catalogue "
        f"products: {elapsed_ms:.1f} ms per call, {len(found)} terms found"
    )


if __name__ == "__main__":
    main()
