"""The read path's caches never hide a change for longer than they promise: a score batch
committed by this process is in the next trends page, a write by another process within
two page TTLs; a revoked key is refused within the key TTL, a new key works at once."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from services.api.auth import ApiKey, hash_key, revoke_key
from services.api.caching import ExpiringCache, PageCache, SingleFlight
from services.api.store import save_scores

TICK_MS = 1_772_409_600_000


def ids(client: TestClient, auth: dict[str, str], query: str = "") -> list[str]:
    response = client.get(f"/v1/trends{query}", headers=auth)
    assert response.status_code == 200, response.text
    return [item["product_id"] for item in response.json()["items"]]


def test_a_committed_score_batch_is_in_the_next_page(read_api: Any, make_scores: Any) -> None:
    app, client, auth = read_api
    app.state.intake.apply(make_scores({"a": 0.5, "b": 0.3}, TICK_MS))
    assert ids(client, auth) == ["a", "b"]
    assert ids(client, auth) == ["a", "b"]  # now served from the cache
    app.state.intake.apply(make_scores({"b": 0.9, "c": 0.1}, TICK_MS + 300_000))
    assert ids(client, auth) == ["b", "a", "c"]
    assert ids(client, auth, "?min_score=0.4") == ["b", "a"]


def test_another_process_writing_the_store_shows_within_the_page_ttl(
    read_api: Any, make_scores: Any
) -> None:
    app, client, auth = read_api
    app.state.trend_pages = PageCache(ttl_s=0.3)
    app.state.intake.apply(make_scores({"a": 0.5}, TICK_MS))
    assert ids(client, auth) == ["a"]
    # A write this process's intake did not make (another replica, a repair script).
    with app.state.sessionmaker.begin() as session:
        save_scores(session, make_scores({"z": 0.8}, TICK_MS))
    # Expired pages are answered once more while a refresh runs: at most two TTLs old.
    deadline = time.monotonic() + 2 * 0.3 + 2.0
    while ids(client, auth) != ["z", "a"]:
        assert time.monotonic() < deadline, "a store write stayed hidden past two page TTLs"
        time.sleep(0.05)


def test_pages_follow_the_cursor_and_filters(read_api: Any, make_scores: Any) -> None:
    app, client, auth = read_api
    app.state.intake.apply(make_scores({f"p{i}": 0.1 * i for i in range(1, 6)}, TICK_MS))
    app.state.intake.apply(make_scores({"drink": 0.95}, TICK_MS, category="minuman"))
    seen: list[str] = []
    query = "?limit=2&category=makanan"
    while True:
        body = client.get(f"/v1/trends{query}", headers=auth).json()
        seen += [item["product_id"] for item in body["items"]]
        if body["next_cursor"] is None:
            break
        query = f"?limit=2&category=makanan&cursor={body['next_cursor']}"
    assert seen == ["p5", "p4", "p3", "p2", "p1"]
    # Equal scores page by product id, none skipped or repeated across page boundaries.
    app.state.intake.apply(make_scores({f"t{i}": 0.5 for i in range(5)}, TICK_MS, category="x"))
    seen, query = [], "?limit=2&category=x"
    while query:
        body = client.get(f"/v1/trends{query}", headers=auth).json()
        seen += [item["product_id"] for item in body["items"]]
        query = body["next_cursor"] and f"?limit=2&category=x&cursor={body['next_cursor']}"
    assert seen == ["t0", "t1", "t2", "t3", "t4"]
    bad = client.get("/v1/trends?cursor=not-ours", headers=auth)
    assert bad.status_code == 422 and "cursor" in bad.text


def test_a_revoked_key_is_refused_within_the_key_ttl(read_api: Any, make_scores: Any) -> None:
    app, client, auth = read_api
    app.state.key_cache = ExpiringCache(0.3)
    assert client.get("/v1/trends", headers=auth).status_code == 200  # verified and cached
    key = auth["Authorization"].removeprefix("Bearer ")
    with app.state.sessionmaker.begin() as session:  # as `pantau keys` would, elsewhere
        key_id = session.scalar(select(ApiKey.id).where(ApiKey.key_hash == hash_key(key)))
        assert key_id is not None and revoke_key(session, key_id)
    time.sleep(0.35)
    refused = client.get("/v1/trends", headers=auth)
    assert refused.status_code == 401 and "invalid_token" in refused.headers["www-authenticate"]


def test_a_new_key_works_at_once(read_api: Any) -> None:
    app, client, _auth = read_api
    key = "pk_created-while-the-api-runs"
    assert client.get("/v1/trends", headers={"Authorization": f"Bearer {key}"}).status_code == 401
    with app.state.sessionmaker.begin() as session:
        session.add(ApiKey(name="late", scope="read", key_hash=hash_key(key)))
    assert client.get("/v1/trends", headers={"Authorization": f"Bearer {key}"}).status_code == 200


def test_request_metrics_count_route_templates(read_api: Any, make_scores: Any) -> None:
    app, client, auth = read_api
    app.state.intake.apply(make_scores({"a": 0.5}, TICK_MS))
    client.get("/v1/trends", headers=auth)
    client.get("/v1/trends")
    client.get("/no/such/path")
    text = client.get("/metrics").text
    for labels in (
        'method="GET",route="/v1/trends",status="200"',
        'method="GET",route="/v1/trends",status="401"',
        'method="GET",route="<unmatched>",status="404"',
    ):
        assert f"pantau_http_requests_total{{{labels}}}" in text


def test_expiring_cache_drops_stale_versions_expired_and_oldest_entries() -> None:
    cache: ExpiringCache[str, int] = ExpiringCache(ttl_s=10, max_entries=2)
    cache.put("a", 1, version=1, now=0.0)
    assert cache.get("a", version=1, now=9.9) == 1
    assert cache.get("a", version=2, now=0.0) is None
    assert cache.get("a", version=1, now=10.0) is None
    assert cache.lookup("a", version=1, now=15.0) == (1, False)  # expired: refresh it
    assert cache.lookup("a", version=1, now=20.0) == (None, False)  # too old to answer
    cache.put("b", 2, now=0.0)
    cache.put("c", 3, now=0.0)
    assert cache.get("a", version=1, now=0.0) is None  # evicted: the oldest of three
    assert (cache.get("b", now=0.0), cache.get("c", now=0.0), len(cache)) == (2, 3, 2)


def test_concurrent_misses_share_one_computation() -> None:
    flights: SingleFlight[str, int] = SingleFlight()
    calls: list[int] = []
    release = threading.Event()

    def compute() -> int:
        calls.append(1)
        release.wait(5)
        return 42

    async def main() -> list[int]:
        waiting = [asyncio.ensure_future(flights.run("page", compute)) for _ in range(20)]
        await asyncio.sleep(0.05)
        release.set()
        return await asyncio.gather(*waiting)

    assert asyncio.run(main()) == [42] * 20
    assert len(calls) == 1
    release.clear()
    asyncio.run(main())  # the flight landed: a later miss computes again
    assert len(calls) == 2
