"""The seller page's "Baru muncul" section: rising terms no catalogue product names, with
the words posts mention beside them; term products stay out of the product list; the
section is gone when nothing emerges."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from seller_data import PRODUCTS, Product, make_app, week_of_scores
from test_seller_page import outline

from services.api.catalogue_store import apply_products
from services.api.i18n import is_rising
from services.api.terms import TermReport, merge_term_contexts
from shared.catalogue import CatalogueProduct

TERMS = [
    Product("term:kopi-pandan", "kopi pandan", "", ["ID-JT"], 0.8, 6, []),
    Product("term:keripikpisang", "#keripikpisang", "", ["ID-JT"], 0.9, 6, []),  # catalogued
    Product("term:es-kuwut", "es kuwut", "", [], 0.1, 0, []),  # not rising
]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    app = make_app(tmp_path_factory.mktemp("emerging") / "api.db")
    app.state.intake.apply(week_of_scores(TERMS).sort("tick_ms"))
    with app.state.sessionmaker.begin() as session:
        apply_products(
            session,
            (CatalogueProduct("keripik-03", "Keripik Pisang Pedas", hashtags=("keripikpisang",)),),
        )
        merge_term_contexts(
            session,
            [
                TermReport(
                    "kopi-pandan",
                    {"wangi": 9, "hijau": 4, "<b>": 2},
                    ("https://www.tiktok.com/@warung/video/1",),
                )
            ],
        )
    return app


def test_the_section_lists_new_terms_with_their_words(app: FastAPI) -> None:
    html = TestClient(app).get("/").text
    assert "Baru muncul (1)" in html
    section = html[html.index('<section class="emerging"') :]
    section = section[: section.index("</section>")]
    assert "kopi pandan" in section
    assert "wangi, hijau, &lt;b&gt;" in section  # most mentioned first, escaped
    assert 'href="https://www.tiktok.com/@warung/video/1" rel="nofollow' in section
    assert "keripikpisang" not in section  # names a catalogue product
    assert "es kuwut" not in section  # not rising
    english = TestClient(app).get("/?lang=en").text
    assert "Just emerging (1)" in english and "Often mentioned with" in english


def test_term_products_stay_out_of_the_product_list(app: FastAPI) -> None:
    html = TestClient(app).get("/?n=100").text
    linked = outline(html).products
    assert linked and not any(p.startswith("term") for p in linked)
    rising = sum(is_rising(p.final_probability) and not p.stale for p in PRODUCTS)
    assert f"Sedang naik ({rising})" in html


def test_the_section_refreshes_with_the_list_and_leaves_filtered_lists(app: FastAPI) -> None:
    client = TestClient(app)
    assert "Baru muncul" in client.get("/fragmen/daftar").text
    assert "Baru muncul" not in client.get("/?category=minuman").text


def test_no_emerging_term_no_section(tmp_path: Path) -> None:
    html = TestClient(make_app(tmp_path / "api.db")).get("/").text
    assert "Baru muncul" not in html and "emerging" not in html
