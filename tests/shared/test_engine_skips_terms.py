"""The alert engine never alerts on emerging terms, so the API, replay and evaluation agree."""

from __future__ import annotations

from pathlib import Path

import orjson
import polars as pl

from services.replay import replay_file
from shared.alerts import AlertEngine, AlertRules
from shared.scores import SCORE_SCHEMA

TICK_MS = 1_772_409_600_000


def _rows(product_ids: list[str]) -> pl.DataFrame:
    n = len(product_ids)
    columns = {
        "product_id": product_ids,
        "tick_ms": [TICK_MS] * n,
        "probability": [0.99] * n,
        "score": [99.0] * n,
    }
    frame = pl.DataFrame(columns)
    for name, dtype in SCORE_SCHEMA.items():
        if name not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=dtype).alias(name))
    return frame.select([pl.col(name).cast(dtype) for name, dtype in SCORE_SCHEMA.items()])


def test_a_term_above_the_threshold_raises_no_alert_and_a_product_does() -> None:
    engine = AlertEngine(AlertRules())
    alerts = engine.evaluate(_rows(["term:croffle-rendang", "sambal-bawang-jar"]))
    assert [a["product_id"] for a in alerts] == ["sambal-bawang-jar"]


def test_replay_raises_no_term_alert(tmp_path: Path) -> None:
    """Term events in a file replayed at full speed: the term is scored, never alerted."""
    seen: list[str] = []
    lines = [
        orjson.dumps(
            {
                "event_id": f"e{i}",
                "ts": TICK_MS + i * 60_000,
                "platform": "tiktok",
                "product_id": "term:croffle-rendang",
                "action": "view",
                "count": 10 * (i + 1),
            }
        )
        for i in range(600)
    ]
    events = tmp_path / "events.ndjson"
    events.write_bytes(b"\n".join(lines) + b"\n")
    replayed = replay_file(
        events,
        tmp_path / "alerts.ndjson",
        rules=AlertRules(threshold=0.0, rearm_below=0.0),
        progress=False,
        watch=lambda scores: seen.extend(scores["product_id"].to_list()),
    )
    assert "term:croffle-rendang" in seen
    assert replayed.alerts_out.read_bytes() == b""
