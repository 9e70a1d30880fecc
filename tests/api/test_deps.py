"""The typed dependencies: resources read from `app.state`, and the caller's key resolved
once per request however many places name it."""

from __future__ import annotations

import ast
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from services.api.auth import create_key
from services.api.deps import READ, ReadKey, SessionDep, SettingsDep
from shared.settings import ApiSettings


def test_a_route_naming_its_key_draws_the_rate_limit_once(
    sessions: sessionmaker[Session],
) -> None:
    app = FastAPI()
    app.state.settings = ApiSettings(rate_limit_per_s=0.001, rate_limit_burst=2)
    app.state.sessionmaker = sessions
    router = APIRouter(dependencies=[READ])

    @router.get("/who")
    async def who(key: ReadKey, settings: SettingsDep) -> dict[str, object]:
        return {"name": key.name, "burst": settings.rate_limit_burst}

    app.include_router(router)
    with sessions.begin() as session:
        key = create_key(session, "koperasi", "read")
    with TestClient(app) as client:
        answers = [client.get("/who", headers={"Authorization": f"Bearer {key}"}) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[0].json() == {"name": "koperasi", "burst": 2}


def test_the_session_is_the_apps_and_closed_after_the_request(
    sessions: sessionmaker[Session],
) -> None:
    app = FastAPI()
    app.state.sessionmaker = sessions
    seen: list[Session] = []

    @app.get("/session")
    def use(session: SessionDep) -> dict[str, bool]:
        seen.append(session)
        session.execute(text("SELECT 1"))  # opens a transaction, which closing ends
        return {"open": session.in_transaction()}

    with TestClient(app) as client:
        assert client.get("/session").json() == {"open": True}
    [session] = seen
    assert session.bind is sessions.kw["bind"] and not session.in_transaction()


ROOT = Path(__file__).resolve().parents[2]


def _state_reads(path: Path) -> list[str]:
    """`<anything>.app.state` in a module: a resource taken around the dependencies."""
    return [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Attribute)
        and node.attr == "state"
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "app"
    ]


def test_routes_take_their_resources_as_dependencies() -> None:
    routes = [*ROOT.glob("services/api/routes/*.py"), *ROOT.glob("services/api/web/*.py")]
    assert len(routes) > 10
    assert [r for p in routes for r in _state_reads(p)] == []
