"""API keys: refusals (401/403), admin implies read, per-key rate limit (429)."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Annotated

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services.api.auth import (
    ApiKey,
    Principal,
    RateLimiter,
    create_key,
    hash_key,
    limiters,
    require_scope,
    revoke_key,
)
from shared.settings import ApiSettings


@pytest.fixture
def keys(sessions: sessionmaker[Session]) -> dict[str, str]:
    with sessions.begin() as session:
        return {scope: create_key(session, f"{scope} key", scope) for scope in ("read", "admin")}


def make_app(sessions: sessionmaker[Session], settings: object) -> FastAPI:
    app = FastAPI()
    app.state.sessionmaker = sessions
    app.state.settings = settings

    @app.get("/read")
    def read(who: Annotated[Principal, Depends(require_scope("read"))]) -> dict[str, str]:
        return {"name": who.name, "scope": who.scope}

    @app.post("/admin", dependencies=[Depends(require_scope("admin"))])
    def admin() -> dict[str, bool]:
        return {"ok": True}

    return app


def make_client(
    sessions: sessionmaker[Session],
    require: bool = True,
    per_s: float = 100,
    burst: int = 100,
    address: str = "testclient",
    **limits: float,
) -> TestClient:
    settings = ApiSettings(
        require_api_keys=require, rate_limit_per_s=per_s, rate_limit_burst=burst, **limits
    )
    return TestClient(make_app(sessions, settings), client=(address, 50000))


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_refusals(sessions: sessionmaker[Session], keys: dict[str, str]) -> None:
    client = make_client(sessions)
    missing = client.get("/read")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == 'Bearer realm="pantau"'
    wrong = client.get("/read", headers=bearer("pk_wrong"))
    assert wrong.status_code == 401 and "invalid_token" in wrong.headers["www-authenticate"]
    for malformed in (keys["read"], f"Basic {keys['read']}", "Bearer "):
        assert client.get("/read", headers={"Authorization": malformed}).status_code == 401
    forbidden = client.post("/admin", headers=bearer(keys["read"]))
    assert forbidden.status_code == 403
    assert 'error="insufficient_scope"' in forbidden.headers["www-authenticate"]
    assert "admin" in forbidden.json()["detail"]


def test_scopes(sessions: sessionmaker[Session], keys: dict[str, str]) -> None:
    client = make_client(sessions)
    assert client.get("/read", headers=bearer(keys["read"])).json() == {
        "name": "read key",
        "scope": "read",
    }
    assert client.get("/read", headers=bearer(keys["admin"])).status_code == 200
    assert client.post("/admin", headers=bearer(keys["admin"])).json() == {"ok": True}


def test_revoked_key_is_refused(sessions: sessionmaker[Session], keys: dict[str, str]) -> None:
    client = make_client(sessions)
    with sessions.begin() as session:
        key_id = session.scalar(select(ApiKey.id).where(ApiKey.key_hash == hash_key(keys["read"])))
        assert key_id is not None and revoke_key(session, key_id)
        assert not revoke_key(session, key_id)
    assert client.get("/read", headers=bearer(keys["read"])).status_code == 401


def test_only_the_hash_is_stored(sessions: sessionmaker[Session], keys: dict[str, str]) -> None:
    assert all(key.startswith("pk_") and len(key) > 40 for key in keys.values())
    with sessions() as session:
        stored = {row.key_hash for row in session.scalars(select(ApiKey))}
    assert stored == {hash_key(key) for key in keys.values()}
    with sessions.begin() as session, pytest.raises(ValueError):
        create_key(session, "x", "root")  # type: ignore[arg-type]


def test_rate_limit_is_429_with_retry_after(
    sessions: sessionmaker[Session], keys: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(sessions, per_s=0.5, burst=3)
    with caplog.at_level(logging.DEBUG):
        codes = [client.get("/read", headers=bearer(keys["read"])).status_code for _ in range(3)]
        limited = client.get("/read", headers=bearer(keys["read"]))
    assert codes == [200, 200, 200]
    assert limited.status_code == 429 and 1 <= int(limited.headers["retry-after"]) <= 2
    # another key has its own bucket
    assert client.get("/read", headers=bearer(keys["admin"])).status_code == 200
    assert keys["read"] not in caplog.text and keys["admin"] not in caplog.text


def test_token_bucket_refills() -> None:
    limiter = RateLimiter(rate_per_s=2, burst=2)
    assert [limiter.acquire(1, now=0.0) for _ in range(2)] == [0.0, 0.0]
    assert limiter.acquire(1, now=0.0) == pytest.approx(0.5)
    assert limiter.acquire(1, now=0.5) == 0.0
    assert limiter.acquire(1, now=10.0) == 0.0  # refilled, but never above the burst
    assert limiter.acquire(1, now=10.0) == 0.0
    assert limiter.acquire(1, now=10.0) > 0


def test_keys_not_required_in_the_demo(sessions: sessionmaker[Session]) -> None:
    client = make_client(sessions, require=False, per_s=0.001, burst=1)
    assert [client.post("/admin").status_code for _ in range(5)] == [200] * 5


def test_failed_authentications_are_limited_per_address(
    sessions: sessionmaker[Session], keys: dict[str, str]
) -> None:
    limits = {"auth_failure_per_s": 0.5, "auth_failure_burst": 3}
    app = make_client(sessions, **limits).app
    attacker = TestClient(app, client=("192.0.2.7", 50000))
    codes = [attacker.get("/read", headers=bearer(f"pk_guess{i}")).status_code for i in range(3)]
    assert codes == [401, 401, 401]
    for attempt in (bearer("pk_guess9"), {}, bearer(keys["read"])):  # not even a valid key
        limited = attacker.get("/read", headers=attempt)
        assert limited.status_code == 429 and 1 <= int(limited.headers["retry-after"]) <= 2
        assert "failed authentications" in limited.json()["detail"]
    neighbour = TestClient(app, client=("192.0.2.8", 50000))  # another address: its own budget
    assert neighbour.get("/read", headers=bearer("pk_guess")).status_code == 401
    assert neighbour.get("/read", headers=bearer(keys["read"])).status_code == 200
    # a key verified before (cached) still works from the limited address
    assert attacker.get("/read", headers=bearer(keys["read"])).status_code == 200


def test_limits_come_from_the_settings_only(sessions: sessionmaker[Session]) -> None:
    """No fallback numbers: settings without the limits are a bug, not 10/20 in silence."""
    incomplete = TestClient(make_app(sessions, SimpleNamespace(require_api_keys=True)))
    with pytest.raises(AttributeError, match="rate_limit_per_s"):
        incomplete.get("/read", headers=bearer("pk_any"))
    defaults = ApiSettings()
    built = limiters(SimpleNamespace(settings=defaults))
    assert (built.per_key.rate_per_s, built.per_key.burst) == (50.0, 100)
    assert (built.failures_per_address.rate_per_s, built.failures_per_address.burst) == (
        defaults.auth_failure_per_s,
        defaults.auth_failure_burst,
    )
