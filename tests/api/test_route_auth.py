"""Every route of the real app refuses requests without the right key, except the few
that are public by design (health, metrics, API docs, the seller page and its files,
seller subscriptions)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import select

from services.api.app import create_app
from services.api.auth import ApiKey, create_key, hash_key, revoke_key
from shared.settings import ApiSettings

PUBLIC = {
    "/healthz",
    "/readyz",
    "/metrics",
    "/openapi.json",
    "/docs",
    "/docs/oauth2-redirect",
    "/redoc",
    "/",
    "/fragmen/daftar",
    "/produk/{product_id}",
    "/static/{name}",
    # The installable page: its manifest and service worker.
    "/manifest.webmanifest",
    "/sw.js",
    # Seller subscriptions: no account by design; the token in the path is the credential.
    "/langganan",
    "/langganan/{token}",
    "/langganan/{token}/konfirmasi",
    "/langganan/{token}/berhenti",
}
ADMIN_PREFIXES = ("/v1/subscriptions", "/v1/events", "/v1/terms", "/v1/emerging/")
# Read with a read key, change with an admin key.
ADMIN_WRITES = ("/v1/catalogue",)


def needs_admin(method: str, path: str) -> bool:
    return path.startswith(ADMIN_PREFIXES) or (method != "GET" and path.startswith(ADMIN_WRITES))


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Any:
    db = tmp_path_factory.mktemp("auth") / "api.db"
    # Every route is refused many times from one address: a budget of failures to match.
    settings = ApiSettings(
        database_url=f"sqlite:///{db}", run_dispatcher=False, auth_failure_burst=100_000
    )
    app = create_app(settings)
    with app.state.sessionmaker.begin() as session:
        keys = {scope: create_key(session, scope, scope) for scope in ("read", "admin")}
        keys["revoked"] = create_key(session, "gone", "admin")
        gone = session.scalar(select(ApiKey.id).where(ApiKey.key_hash == hash_key(keys["revoked"])))
        assert gone is not None and revoke_key(session, gone)
    return app, keys


def routes(app: Any) -> list[tuple[str, str]]:
    found = []
    for context in iter_route_contexts(app.routes):
        for method in sorted((context.methods or set()) - {"HEAD"}):
            found.append((method, context.path))
    return found


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def scopes_of(app: Any, method: str, path: str) -> set[str]:
    for context in iter_route_contexts(app.routes):
        if context.path == path and method in (context.methods or ()):
            return {
                d.dependency.scope
                for d in (context.dependencies or [])
                if hasattr(d.dependency, "scope")
            }
    raise AssertionError(f"{method} {path} not found")


def test_the_walk_sees_every_api_route(api: Any) -> None:
    app, _ = api
    paths = {path for _, path in routes(app)}
    assert {"/v1/trends", "/v1/alerts", "/v1/events", "/v1/products/{product_id:path}"} <= paths
    assert {"/v1/catalogue", "/v1/catalogue/{product_id}", "/v1/emerging"} <= paths
    assert sum(p.startswith("/v1/subscriptions") for p in paths) >= 5


def test_every_private_route_refuses_missing_wrong_and_wrong_scope_keys(api: Any) -> None:
    app, keys = api
    checked = 0
    with TestClient(app) as client:
        for method, path in routes(app):
            if path in PUBLIC:
                continue
            url = concrete(path)
            admin = needs_admin(method, path)
            assert scopes_of(app, method, path) == {"admin" if admin else "read"}, path
            bad = {
                "missing": {},
                "wrong": {"Authorization": "Bearer pk_not-a-key"},
                "revoked": {"Authorization": f"Bearer {keys['revoked']}"},
                "not bearer": {"Authorization": f"Basic {keys['admin']}"},
            }
            for label, headers in bad.items():
                status = client.request(method, url, headers=headers).status_code
                assert status == 401, f"{method} {path} with a {label} key gave {status}"
            reader = client.request(
                method, url, headers={"Authorization": f"Bearer {keys['read']}"}
            )
            if admin:
                assert reader.status_code == 403, f"{method} {path} let a read key in"
            else:
                assert reader.status_code not in (401, 403), f"{method} {path} refused read"
            right = client.request(
                method, url, headers={"Authorization": f"Bearer {keys['admin']}"}
            )
            assert right.status_code not in (401, 403), f"{method} {path} refused an admin key"
            checked += 1
    assert checked >= 12


def test_public_routes_need_no_key(api: Any) -> None:
    app, _ = api
    with TestClient(app) as client:
        for method, path in routes(app):
            if path not in PUBLIC:
                continue
            url = "/static/pantau.css" if path == "/static/{name}" else concrete(path)
            status = client.request(method, url).status_code
            assert status not in (401, 403), f"public {method} {path} gave {status}"
