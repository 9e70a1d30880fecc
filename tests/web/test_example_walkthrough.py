"""The README's walk-through, end to end without a broker: examples/catalogue.csv into the
API's store, examples/posts.csv imported with it, the events through the live cores
(`LocalPipeline`, the scorer `pantau score` runs while no model is promoted) into the
API's intake; then the seller page shows the catalogue products by name and the one
nobody catalogued under "Baru muncul"."""

from __future__ import annotations

import io
from pathlib import Path

import orjson
import polars as pl
import pytest
from fastapi.testclient import TestClient
from test_seller_page import outline

from services.api.app import create_app
from services.api.catalogue_store import apply_products
from services.model.baseline import cold_start_scorer
from services.pipeline import LocalPipeline
from services.sources.event_writer import EventWriter
from services.sources.importer import Importer, ImportOptions
from shared.catalogue import read_catalogue_csv
from shared.settings import ApiSettings, KafkaSettings

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SHOWN = {  # the catalogue products the example's videos name
    "keripik-pisang-pedas": "Keripik Pisang Pedas",
    "sambal-bawang-botol": "Sambal Bawang Botol",
    "kopi-gayo-sachet": "Kopi Gayo Sachet",
    "tas-anyaman-pandan": "Tas Anyaman Pandan",
    "batik-tulis-lasem": "Batik Tulis Lasem",
}


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> str:
    tmp = tmp_path_factory.mktemp("walkthrough")
    catalogue = read_catalogue_csv(EXAMPLES / "catalogue.csv")
    app = create_app(
        ApiSettings(
            database_url=f"sqlite:///{tmp / 'api.db'}", require_api_keys=False, run_dispatcher=False
        )
    )
    with app.state.sessionmaker.begin() as session:  # pantau catalogue import
        apply_products(session, catalogue.products)
    echo = io.StringIO()  # pantau import posts.csv --catalogue catalogue.csv, as sent
    writer = EventWriter(KafkaSettings(bootstrap="127.0.0.1:1"), dry_run=True, echo=echo)
    options = ImportOptions(baselines_path=tmp / "baselines.parquet", catalogue=catalogue)
    summary = Importer(options, writer).run([EXAMPLES / "posts.csv"])
    assert summary.rejected == {}
    lines = [line.encode() for line in echo.getvalue().splitlines()]
    newest_ms = max(orjson.loads(line)["ts"] for line in lines)
    scores: list[pl.DataFrame] = []
    pipeline = LocalPipeline(cold_start_scorer(), scores.append)  # pantau ingest + score
    pipeline.submit(lines, now_ms=newest_ms)
    assert pipeline.stats.accepted == len(lines)
    # pantau api's intake, in one batch rather than a transaction per tick and partition.
    app.state.intake.apply(pl.concat(scores).sort("tick_ms", maintain_order=True))
    return TestClient(app).get("/?n=50").text


def test_the_page_shows_the_catalogue_products_by_name(page: str) -> None:
    linked = set(outline(page).products)
    for product_id, name in SHOWN.items():
        assert product_id in linked and name in page, name
    # The croffle videos name no catalogue product: "#rendang" alone is not packaged rendang.
    assert "Rendang Daging Kemasan" not in page


def test_the_uncatalogued_product_is_under_baru_muncul(page: str) -> None:
    section = page[page.index('<section class="emerging"') :]
    section = section[: section.index("</section>")]
    assert "Baru muncul" in section
    assert ">croffle rendang<" in section
    for name in SHOWN.values():
        assert name.lower() not in section.lower()
