"""The seller page under the cold start (no promoted model, and the shipped default
missing or unloadable): a growth ranking, never a chance.

Scores come from the cold-start growth ratio over tests/data/evaluate (daily view
counters: flat videos, two rises, a new upload), through a real app's intake.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.api.app import create_app
from services.api.i18n import PHRASES
from services.model.baseline import cold_start_scorer
from services.replay import replay_features
from shared.settings import ApiSettings

DATA = Path(__file__).parents[1] / "data" / "evaluate"
CHANCE = re.compile(r'<p class="chance[^"]*">.*?</p>', re.S)
VIRAL_WORDS = [words[lang] for _, _, words in PHRASES[:3] for lang in ("id", "en")]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    tmp = tmp_path_factory.mktemp("cold-start")
    scores = cold_start_scorer().score(
        replay_features(DATA / "events.ndjson", partitions=1, progress=False)
    )
    app = create_app(
        ApiSettings(
            database_url=f"sqlite:///{tmp / 'api.db'}",
            require_api_keys=False,
            run_dispatcher=False,
            trend_max_age_ms=40 * 24 * 3_600_000,
        )
    )
    app.state.intake.apply(scores.sort("tick_ms"))
    return TestClient(app)


@pytest.mark.parametrize("lang", ["id", "en"])
def test_without_a_model_the_list_ranks_by_growth_and_shows_no_chance(
    client: TestClient, lang: str
) -> None:
    html = client.get("/", params={"lang": lang, "n": "50"}).text
    listed = html[html.index('<div id="daftar"') :]
    listed = listed[: listed.index("</div>")]
    assert listed.count('<li id="p-') == 6  # every video of the data, as a card or a line
    for text in [*CHANCE.findall(listed), *re.findall(r'<span class="meta">.*?</span>', listed)]:
        assert "%" not in text
        assert not any(words in text for words in VIRAL_WORDS)
    assert ("Belum ada model" if lang == "id" else "No model yet") in listed


def test_a_flat_products_page_shows_no_chance_or_percent_axis(client: TestClient) -> None:
    html = client.get("/produk/flat-a", params={"lang": "id"}).text
    big = re.search(r'<div class="big">(.*?)</div>', html, re.S)
    assert big is not None
    assert "%" not in big.group(1) and "viral" not in big.group(1)
    growth = re.search(r"Naik ([\d,]+)× dibanding hari biasa minggu lalu", big.group(1))
    assert growth is not None  # flat: its day is about its usual day
    assert 0.8 <= float(growth.group(1).replace(",", ".")) < 1.5
    assert 'class="score"' not in html  # no chart of a "chance" history
