"""GET /v1/products/{id} and GET /v1/alerts over a real SQLite store fed by the intake."""

from __future__ import annotations

from typing import Any

TICK_MS = 1_772_409_600_000
STEP_MS = 300_000


def test_product_detail_has_history_engagement_and_explanation(
    read_api: Any, make_scores: Any
) -> None:
    app, client, auth = read_api
    path = [0.2, 0.3, 0.75, 0.9]
    for i, p in enumerate(path):
        app.state.intake.apply(make_scores({"shop/kp-1": p, "other": 0.1}, TICK_MS + i * STEP_MS))
    body = client.get("/v1/products/shop/kp-1", headers=auth).json()
    assert body["product"]["product_id"] == "shop/kp-1"
    assert body["product"]["probability"] == 0.9 and body["product"]["platforms"] == ["tiktok"]
    assert [p["probability"] for p in body["score_history"]] == path
    assert [p["tick_ms"] for p in body["engagement"]] == [TICK_MS + i * STEP_MS for i in range(4)]
    assert [p["events_1h"] for p in body["engagement"]] == [100 * p for p in path]
    assert body["explanation"]["reasons"][0]["text_en"] == "up 8×"
    assert body["explanation"]["evidence"]["growth_6h_vs_24h"] == 3.0
    [alert] = body["alerts"]
    assert alert["tick_ms"] == TICK_MS + 2 * STEP_MS and alert["probability"] == 0.75
    assert "Jawa Tengah" in alert["message_id"] and "Jawa Tengah" in alert["message_en"]

    # A later tick far away: only what falls within `hours` of the latest tick is returned.
    app.state.intake.apply(make_scores({"shop/kp-1": 0.5}, TICK_MS + 5 * 3_600_000))
    recent = client.get("/v1/products/shop/kp-1?hours=1", headers=auth).json()
    assert [p["probability"] for p in recent["score_history"]] == [0.5]


def test_unknown_product_is_404_and_bad_ids_are_422(read_api: Any) -> None:
    _, client, auth = read_api
    missing = client.get("/v1/products/nope", headers=auth)
    assert missing.status_code == 404 and "nope" in missing.json()["detail"]
    assert client.get("/v1/products/bad id!", headers=auth).status_code == 422
    assert client.get("/v1/products/a?hours=0", headers=auth).status_code == 422


def test_alert_feed_pages_with_a_cursor_and_resumes(read_api: Any, make_scores: Any) -> None:
    app, client, auth = read_api
    app.state.intake.apply(make_scores({f"p{i}": 0.8 for i in range(5)}, TICK_MS))
    app.state.intake.apply(make_scores({"f1": 0.9}, TICK_MS, category="fashion"))
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        params = {"limit": 2, **({"since": cursor} if cursor else {})}
        page = client.get("/v1/alerts", params=params, headers=auth).json()
        seen += [a["product_id"] for a in page["items"]]
        if not page["items"]:
            assert page["next_cursor"] == cursor  # nothing new: poll again with the same one
            break
        cursor = page["next_cursor"]
    assert sorted(seen) == ["f1", "p0", "p1", "p2", "p3", "p4"] and len(set(seen)) == 6

    app.state.intake.apply(make_scores({"late": 0.95}, TICK_MS + STEP_MS))
    newer = client.get("/v1/alerts", params={"since": cursor}, headers=auth).json()
    assert [a["product_id"] for a in newer["items"]] == ["late"]
    [alert] = newer["items"]
    assert alert["regions"] == ["ID-JT"] and alert["model_version"] == "test-1"
    assert alert["reasons"] == [{"text_id": "naik 8×", "text_en": "up 8×"}]

    fashion = client.get("/v1/alerts", params={"category": "fashion"}, headers=auth).json()
    assert [a["product_id"] for a in fashion["items"]] == ["f1"]
    bad = client.get("/v1/alerts", params={"since": "abc"}, headers=auth)
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "since"]
