"""Emerging terms (`term:…`) are scored and listed, but never alert sellers or webhooks."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from services.api.store import AlertRecord, LatestScore

TICK_MS = 1_772_409_600_000
TERM = "term:kopi-pandan"


def test_a_rising_term_raises_no_alert_and_reaches_no_outbox(
    read_api: Any, make_scores: Any
) -> None:
    app, client, auth = read_api
    hooked: list[str] = []
    intake = app.state.intake
    intake.on_alert = lambda _session, alert: hooked.append(alert["product_id"])

    new = intake.apply(make_scores({TERM: 0.95, "shop/kp-1": 0.9}, TICK_MS))

    assert [a["product_id"] for a in new] == ["shop/kp-1"]
    assert hooked == ["shop/kp-1"]  # webhook and seller-channel outboxes hang off this hook
    with app.state.sessionmaker() as session:
        assert session.scalars(select(AlertRecord.product_id)).all() == ["shop/kp-1"]
        # The term's score is kept: /v1/emerging and the seller page read it.
        assert session.get(LatestScore, TERM) is not None
    feed = client.get("/v1/alerts", headers=auth).json()["items"]
    assert [a["product_id"] for a in feed] == ["shop/kp-1"]


def test_trends_list_products_by_default_and_terms_on_request(
    read_api: Any, make_scores: Any
) -> None:
    app, client, auth = read_api
    app.state.intake.apply(make_scores({TERM: 0.95, "shop/kp-1": 0.9, "b": 0.2}, TICK_MS))

    def ids(**params: str) -> list[str]:
        page = client.get("/v1/trends", params=params, headers=auth)
        assert page.status_code == 200, page.text
        return [i["product_id"] for i in page.json()["items"]]

    assert ids() == ["shop/kp-1", "b"]
    assert ids(kind="product") == ["shop/kp-1", "b"]
    assert ids(kind="term") == [TERM]
    assert ids(kind="all") == [TERM, "shop/kp-1", "b"]
    assert client.get("/v1/trends?kind=nope", headers=auth).status_code == 422
