"""Scores in, alert out: the app stores scores, fires an alert once and delivers it signed."""

from __future__ import annotations

import json

import httpx
import polars as pl
from standardwebhooks import Webhook

from services.api.app import create_app
from services.api.auth import create_key
from shared.scores import SCORE_SCHEMA
from shared.settings import ApiSettings, WebhookSettings

TICK = 1_772_409_600_000


def scores(probabilities: dict[str, float], tick: int) -> pl.DataFrame:
    rows = [
        {
            "product_id": pid,
            "partition": 0,
            "tick_ms": tick,
            "watermark_ms": tick,
            "category": "makanan",
            "product_name": f"Produk {pid}",
            "top_regions": ["ID-JT"],
            "probability": p,
            "score": p * 10,
            "model_version": "test-1",
            "reasons": [{"feature": "growth_6h_vs_24h", "text_id": "naik 8×", "text_en": "up 8×"}],
            "events_1h": 1.0,
            "events_24h": 2.0,
            "growth_6h_vs_24h": 3.0,
            "creators_24h": 4.0,
            "regions_24h": 1.0,
        }
        for pid, p in probabilities.items()
    ]
    return pl.DataFrame(rows, schema=SCORE_SCHEMA)


def test_scores_raise_one_signed_alert_and_trends_need_a_key(
    database_url, serve, make_receiver, wait_until
) -> None:
    receiver = make_receiver()
    app = create_app(
        ApiSettings(database_url=database_url),
        webhooks=WebhookSettings(
            allow_cidrs="127.0.0.0/8", retry_schedule="0s,0.2s", poll_interval_s=0.1
        ),
    )
    with app.state.sessionmaker.begin() as session:
        admin = create_key(session, "ops", "admin")
        reader = create_key(session, "seller-app", "read")
    with serve(app) as server:
        auth = {"Authorization": f"Bearer {admin}"}
        created = httpx.post(
            f"{server.url}/v1/subscriptions",
            headers=auth,
            json={"url": receiver.url, "regions": ["ID-JT"]},
        )
        assert created.status_code == 201, created.text
        secret = created.json()["secret"]

        intake = app.state.intake
        assert intake.apply(scores({"a": 0.9, "b": 0.3}, TICK)) != []
        # Still above the threshold, then a dip that does not re-arm: no new alert.
        assert intake.apply(scores({"a": 0.95}, TICK + 300_000)) == []
        assert intake.apply(scores({"a": 0.5}, TICK + 600_000)) == []
        assert intake.apply(scores({"a": 0.9}, TICK + 900_000)) == []

        wait_until(lambda: len(receiver.requests) == 1)
        request = receiver.requests[0]
        payload = Webhook(secret).verify(request.body, request.headers)
        assert payload["type"] == "trend.alert"
        assert payload["data"]["product_id"] == "a"
        assert "Jawa Tengah" in payload["data"]["message"]

        url = f"{server.url}/v1/trends"
        assert httpx.get(url).status_code == 401
        assert httpx.get(url, headers={"Authorization": "Bearer pk_wrong"}).status_code == 401
        ranked = httpx.get(url, headers={"Authorization": f"Bearer {reader}"})
        assert ranked.status_code == 200
        assert [i["product_id"] for i in ranked.json()["items"]] == ["a", "b"]
        assert json.dumps(ranked.json()).count(secret) == 0
