"""The alert tiers on the seller page, and scores that are no chance shown as growth.

A real app and SQLite store filled through the intake (so the alerts are the engine's):
a heads-up product whose 24 h chance is still low, a confident one, a quiet one, and a
row from a growth-ratio baseline (an uncalibrated version, its growth as `score`).
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest
from fastapi.testclient import TestClient

from services.api.app import create_app
from shared.scores import SCORE_SCHEMA, UNCALIBRATED_PREFIX
from shared.settings import ApiSettings

NOW_MS = 1_772_384_400_000
HOUR_MS = 3_600_000
HEADS_UP_ID = "Bersiap: kemungkinan viral dalam beberapa hari"
CONFIDENT_ID = "Sangat mungkin viral dalam 24 jam"
ID = {"lang": "id"}  # the English test leaves its cookie on the shared client
# (product, 24 h probability, 72 h probability, score, model version)
ROWS = [
    ("siap-01", 0.2, 0.5, 2.0, "test-1"),
    ("viral-01", 0.8, 0.9, 8.0, "test-1"),
    ("diam-01", 0.1, 0.1, 1.0, "test-1"),
    ("harian-01", 0.7, 0.9, 6.2, f"{UNCALIBRATED_PREFIX}growth-24h"),
]


def scores(tick_ms: int) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "product_id": pid,
                "partition": 0,
                "tick_ms": tick_ms,
                "watermark_ms": tick_ms,
                "category": "minuman",
                "product_name": f"Produk {pid}",
                "top_regions": ["ID-JT"],
                "platforms": ["youtube"],
                "probability": p24,
                "probability_72h": p72,
                "score": score,
                "model_version": version,
                "reasons": [],
                "events_1h": 10.0,
                "events_24h": 500.0,
                "growth_6h_vs_24h": 1.0,
                # The model's rows with creators (without, a row first holds its level:
                # tests/api/test_alert_tiers.py); the baseline's a daily counter's.
                "creators_24h": 0.0 if version.startswith(UNCALIBRATED_PREFIX) else 3.0,
                "regions_24h": 1.0,
            }
            for pid, p24, p72, score, version in ROWS
        ],
        schema=SCORE_SCHEMA,
    )


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    db: Path = tmp_path_factory.mktemp("tiers") / "api.db"
    app = create_app(
        ApiSettings(
            database_url=f"sqlite:///{db}",
            require_api_keys=False,
            run_dispatcher=False,
            trend_max_age_ms=HOUR_MS,
        )
    )
    app.state.intake.apply(scores(NOW_MS))
    return TestClient(app)


def card(html: str, product_id: str) -> str:
    """The card (`<article>`) of a product on the list, or '' when it has none."""
    match = re.search(rf'<article[^>]*aria-labelledby="p-{product_id}".*?</article>', html, re.S)
    return match.group(0) if match else ""


def test_the_rising_list_tells_a_heads_up_from_a_confident_alert(client: TestClient) -> None:
    html = client.get("/", params=ID).text
    heads_up, confident = card(html, "siap-01"), card(html, "viral-01")
    # Bersiap days ahead while its 24 h chance is still low: a card, not a quiet line.
    assert f'<p class="tier tier-heads_up">{HEADS_UP_ID}</p>' in heads_up
    assert CONFIDENT_ID not in heads_up
    assert f'<p class="tier tier-confident">{CONFIDENT_ID}</p>' in confident
    assert HEADS_UP_ID not in confident
    # Under a tier's headline the chance stands alone: the phrase scale's "kemungkinan
    # besar viral" (85 % for "sangat mungkin") would read as a step down from it, and
    # "belum terlihat naik" would deny the heads-up.
    chance = re.search(r'<p class="chance[^"]*">.*?</p>', confident, re.S)
    assert chance is not None
    assert 'peluang viral dalam 24 jam</span> <span class="pct">80%' in chance.group(0)
    assert "kemungkinan besar" not in confident
    assert "belum terlihat naik" not in heads_up and "peluang viral dalam 24 jam" in heads_up
    assert "Naik di" in heads_up  # it rises there, not only 'busiest'
    assert card(html, "diam-01") == "" and 'id="p-diam-01"' in html  # quiet: one line
    assert 'class="tier' not in html[html.index('id="p-diam-01"') :]


def test_tiers_in_english(client: TestClient) -> None:
    html = client.get("/", params={"lang": "en"}).text
    assert "Get ready: may go viral within days" in card(html, "siap-01")
    assert "Very likely to go viral within 24 hours" in card(html, "viral-01")


def test_a_growth_baseline_row_shows_its_growth_never_a_chance(client: TestClient) -> None:
    html = client.get("/", params=ID).text
    daily = card(html, "harian-01")
    chance = re.search(r'<p class="chance[^"]*">.*?</p>', daily, re.S)
    assert chance is not None
    assert "Naik 6,2× dibanding hari biasa minggu lalu" in chance.group(0)
    assert "%" not in daily and 'class="bar"' not in daily
    page = client.get("/produk/harian-01", params=ID).text
    assert "%" not in page[page.index("<main") :]  # no chance, no percent axis, no alert %
    assert "Naik 6,2×" in page


def test_the_product_page_names_the_tier_and_each_alerts_tier(client: TestClient) -> None:
    page = client.get("/produk/siap-01", params=ID).text
    assert f'<p class="tier tier-heads_up">{HEADS_UP_ID}</p>' in page
    alerts = page[page.index('id="al-h"') :]
    assert f"{HEADS_UP_ID} (50%)" in alerts  # the heads-up's own chance: the 72 h one
    confident = client.get("/produk/viral-01", params=ID).text
    assert f"{CONFIDENT_ID} (80%)" in confident[confident.index('id="al-h"') :]
