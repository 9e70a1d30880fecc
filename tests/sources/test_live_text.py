"""A connector against the real API served by uvicorn: a catalogue change made through the
API reaches the next poll's events without a restart, and each poll's term context reaches
/v1/emerging."""

from __future__ import annotations

import io
import threading
from pathlib import Path
from typing import Any

import httpx
import orjson
import polars as pl

from services.api.app import create_app
from services.api.auth import create_key
from services.sources.catalogue_feed import CatalogueFeed, LiveText
from services.sources.connector import ConnectorService, PollResult
from services.sources.event_writer import EventWriter
from services.sources.polling import QuotaLedger
from services.sources.term_context import TermContextSender
from shared.scores import SCORE_SCHEMA
from shared.settings import ApiSettings, ConnectSettings, KafkaSettings

T0 = 1_780_000_000_000
TEXTS = [
    "Croffle rendang lumer bgt #croffle",
    "croffle rendang pedes gurih",
    "Es kopi pandan wangi!! #fyp",
    "kopi pandan hijau wangi",
    "kopi pandan hijau seger",
]


class Poller:
    """One TikTok video per text, each poll 100 more views than the last."""

    source = "tiktok"

    def __init__(self) -> None:
        self.ledger = QuotaLedger(units_per_day=1_000)
        self.polls = 0

    def poll(self) -> PollResult:
        self.polls += 1
        n = len(TEXTS)
        return PollResult(
            pl.DataFrame(
                {
                    "source": ["tiktok"] * n,
                    "item_id": [f"73{i}" for i in range(n)],
                    "observed_ms": [T0 + self.polls * 600_000] * n,
                    "platform": ["tiktok"] * n,
                    "creator_id": [f"c-{i}" for i in range(n)],
                    "text": TEXTS,
                    "view": [100 * self.polls] * n,
                }
            )
        )

    def next_wait_s(self) -> float:
        return 0.0

    def state(self) -> dict[str, object]:
        return {}

    def restore(self, saved: dict[str, object]) -> None:
        pass

    @property
    def tracked_count(self) -> int:
        return len(TEXTS)


def _score(product_id: str, name: str) -> pl.DataFrame:
    row = {
        "product_id": product_id,
        "partition": 0,
        "tick_ms": T0,
        "watermark_ms": T0,
        "category": None,
        "product_name": name,
        "top_regions": ["ID-JT"],
        "platforms": ["tiktok"],
        "probability": 0.9,
        "score": 9.0,
        "model_version": "test-1",
        "reasons": [],
        "events_1h": 90.0,
        "events_24h": 900.0,
        "growth_6h_vs_24h": 3.0,
        "creators_24h": 3.0,
        "regions_24h": 1.0,
    }
    return pl.DataFrame([row], schema=SCORE_SCHEMA)


def test_catalogue_changes_reach_the_next_poll_and_term_context_reaches_emerging(
    tmp_path: Path, serve: Any
) -> None:
    app = create_app(
        ApiSettings(database_url=f"sqlite:///{tmp_path / 'api.db'}", run_dispatcher=False)
    )
    with app.state.sessionmaker.begin() as session:
        read = create_key(session, "connector", "read")
        admin = create_key(session, "ops", "admin")
    out = io.StringIO()
    with serve(app) as server:
        feed = CatalogueFeed(server.url, read, refresh_s=0)
        sender = TermContextSender(server.url, admin)
        service = ConnectorService(
            Poller(),
            EventWriter(KafkaSettings(), dry_run=True, echo=out),
            ConnectSettings(state_dir=tmp_path / "state", metrics_port=0, backfill=True),
            threading.Event(),
            save_state=False,
            text=LiveText(feed, min_term_posts=2),
            term_context=sender,
        )

        def poll() -> set[str]:
            start = out.tell()
            service.poll_once()
            out.seek(start)
            events = [orjson.loads(line) for line in out.read().splitlines()]
            return {e["product_id"] for e in events}

        first = poll()
        assert "croffle-rendang" not in first and "tiktok:730" in first
        assert {"term:croffle-rendang", "term:kopi-pandan"} <= first
        assert sender.sent > 0 and sender.failures == 0

        put = httpx.put(
            f"{server.url}/v1/catalogue/croffle-rendang",
            json={"name": "Croffle Rendang", "category": "makanan"},
            headers={"Authorization": f"Bearer {admin}"},
        )
        assert put.status_code == 201
        second = poll()
        assert "croffle-rendang" in second
        assert "tiktok:730" not in second and "tiktok:731" not in second
        assert "tiktok:732" in second  # a kopi pandan post names no product

        # The term rises: /v1/emerging shows what its posts said, from both polls.
        app.state.intake.apply(_score("term:kopi-pandan", "kopi pandan"))
        emerging = httpx.get(
            f"{server.url}/v1/emerging", headers={"Authorization": f"Bearer {read}"}
        ).json()["items"]
        [term] = [t for t in emerging if t["product_id"] == "term:kopi-pandan"]
        words = {w["word"]: w["count"] for w in term["words"]}
        assert words["wangi"] == 4 and words["hijau"] == 4  # 2 posts each, 2 polls
        assert "kopi" not in words and "pandan" not in words
        assert term["examples"][0] == "https://www.tiktok.com/embed/v2/732"
