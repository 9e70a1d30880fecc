"""CatalogueFeed against the real API served by uvicorn on 127.0.0.1: a change made in
the API reaches the feed at its next refresh, an unchanged catalogue costs a 304, and an
API that is down, refuses the key or is restarted never costs the last good catalogue."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from services.api.app import create_app
from services.api.auth import create_key
from services.api.catalogue_store import delete_product
from services.sources.catalogue_feed import CatalogueFeed
from shared.settings import ApiSettings


class Clock:
    def __init__(self) -> None:
        self.now_s = 0.0

    def __call__(self) -> float:
        return self.now_s


def _app(tmp_path: Path) -> tuple[Any, str, str]:
    app = create_app(
        ApiSettings(database_url=f"sqlite:///{tmp_path / 'api.db'}", run_dispatcher=False)
    )
    with app.state.sessionmaker.begin() as session:
        read = create_key(session, "connector", "read")
        admin = create_key(session, "ops", "admin")
    return app, read, admin


def test_a_change_in_the_api_reaches_a_running_feed(tmp_path: Path, serve: Any) -> None:
    app, read, admin = _app(tmp_path)
    statuses: list[int] = []
    client = httpx.Client(event_hooks={"response": [lambda r: statuses.append(r.status_code)]})
    clock = Clock()
    with serve(app) as server:
        feed = CatalogueFeed(server.url, read, refresh_s=30, client=client, clock=clock)
        assert feed.current().version == 0 and feed.current().products == ()
        put = httpx.put(
            f"{server.url}/v1/catalogue/kopi-aren",
            json={"name": "Kopi Aren", "hashtags": ["kopiaren"]},
            headers={"Authorization": f"Bearer {admin}"},
        )
        assert put.status_code == 201
        assert feed.current().version == 0  # not asked again within refresh_s
        clock.now_s = 30
        catalogue = feed.current()
        assert catalogue.version == 1
        assert catalogue.by_id["kopi-aren"].hashtags == ("kopiaren",)
        clock.now_s = 60
        assert feed.current() is catalogue  # unchanged: a 304, the same object
        assert statuses == [200, 200, 304]


def test_errors_keep_the_last_good_catalogue(tmp_path: Path, serve: Any) -> None:
    app, read, admin = _app(tmp_path)
    clock = Clock()
    with serve(app) as server:
        port = server.port
        httpx.put(
            f"{server.url}/v1/catalogue/teh-tarik",
            json={"name": "Teh Tarik"},
            headers={"Authorization": f"Bearer {admin}"},
        )
        feed = CatalogueFeed(server.url, read, refresh_s=10, timeout_s=2, clock=clock)
        assert feed.current().version == 1
        wrong = CatalogueFeed(server.url, "pk_wrong", clock=clock)
        assert wrong.current().version == 0 and "401" in (wrong.last_error or "")
    clock.now_s = 10
    assert feed.current().version == 1  # the API is down: kept
    assert feed.failures == 1 and "ConnectError" in (feed.last_error or "")
    with app.state.sessionmaker.begin() as session:  # changed while the feed could not look
        delete_product(session, "teh-tarik")
    with serve(app, port=port):
        clock.now_s = 15
        assert feed.current().version == 1  # not yet time to ask again
        clock.now_s = 20
        assert feed.current().version == 2
        assert feed.current().products == ()
        assert feed.failures == 0
