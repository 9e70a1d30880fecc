"""Real HTTP(S) webhook receivers on 127.0.0.1 for the webhook tests; score rows, API keys and
a read-only API over a fresh store; the store itself, once on SQLite and once on PostgreSQL.

PostgreSQL is the server `deploy/postgres/pg.sh` starts (make test does), named by
PANTAU_TEST_PG_URL. Each test session gets a database of its own on it, migrated once,
and every test starts from emptied tables (TRUNCATE is far cheaper than a database per
test). Without PANTAU_TEST_PG_URL the PostgreSQL cases are skipped, or fail when
PANTAU_REQUIRE_BROKER is set, as with the broker."""

from __future__ import annotations

import os
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import make_url, text
from sqlalchemy.orm import Session, sessionmaker

from services.api.app import create_app
from services.api.auth import create_key
from services.api.db import Base, make_engine, make_sessionmaker
from services.api.schema import ensure_schema, register_tables, upgrade_schema
from shared.scores import SCORE_SCHEMA
from shared.settings import ApiSettings

TICK_MS = 1_772_409_600_000


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes


Reply = int | tuple[int, dict[str, str]]
Respond = Callable[[Received], Reply]
"""Decides the answer to one request (status, or status and headers); may sleep or block."""


@dataclass
class Receiver:
    respond: Respond = lambda _received: 200
    port: int = 0
    ssl_context: ssl.SSLContext | None = None
    requests: list[Received] = field(default_factory=list)
    max_concurrent: int = 0
    _active: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                received = Received(
                    self.path, {k.lower(): v for k, v in self.headers.items()}, body
                )
                with receiver._lock:
                    receiver.requests.append(received)
                    receiver._active += 1
                    receiver.max_concurrent = max(receiver.max_concurrent, receiver._active)
                try:
                    reply = receiver.respond(received)
                finally:
                    with receiver._lock:
                        receiver._active -= 1
                status, headers = reply if isinstance(reply, tuple) else (reply, {})
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("content-length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the sender gave up waiting: that is what timeout tests want

            def log_message(self, *_args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._server.handle_error = lambda *_args: None  # type: ignore[method-assign]
        if self.ssl_context is not None:
            self._server.socket = self.ssl_context.wrap_socket(
                self._server.socket, server_side=True
            )
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://127.0.0.1:{self.port}/hook"

    def msg_ids(self) -> set[str]:
        with self._lock:
            return {r.headers["webhook-id"] for r in self.requests}


def _wait_until(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s} s")
        time.sleep(0.02)


@pytest.fixture
def free_port() -> int:
    """A port nothing listens on (for a receiver that is down, then comes up)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def wait_until() -> Callable[..., None]:
    """`wait_until(condition, timeout_s=10)` polls until true, else fails the test."""
    return _wait_until


@pytest.fixture
def make_receiver() -> Iterator[Callable[..., Receiver]]:
    """`make_receiver(respond=..., port=..., ssl_context=...)` starts a receiver, stopped after."""
    started: list[Receiver] = []

    def make(**kwargs: object) -> Receiver:
        receiver = Receiver(**kwargs).start()  # type: ignore[arg-type]
        started.append(receiver)
        return receiver

    yield make
    for receiver in started:
        receiver.stop()


def score_rows(
    probabilities: dict[str, float], tick_ms: int, category: str = "makanan", **fields: object
) -> pl.DataFrame:
    """Score rows as the scorer publishes them, one per product."""
    rows = [
        {
            "product_id": pid,
            "partition": 0,
            "tick_ms": tick_ms,
            "watermark_ms": tick_ms,
            "category": category,
            "product_name": f"Produk {pid}",
            "top_regions": ["ID-JT"],
            "platforms": ["tiktok"],
            "probability": p,
            "score": p * 10,
            "model_version": "test-1",
            "reasons": [{"feature": "growth_6h_vs_24h", "text_id": "naik 8×", "text_en": "up 8×"}],
            "events_1h": 100 * p,
            "events_24h": 1000 * p,
            "growth_6h_vs_24h": 3.0,
            "creators_24h": 4.0,
            "regions_24h": 1.0,
            **fields,
        }
        for pid, p in probabilities.items()
    ]
    return pl.DataFrame(rows, schema=SCORE_SCHEMA)


@pytest.fixture(scope="session")
def make_scores() -> Callable[..., pl.DataFrame]:
    """`make_scores({"product": probability}, tick_ms)` builds a batch of score rows."""
    return score_rows


PG_URL_ENV = "PANTAU_TEST_PG_URL"
BACKENDS = ["sqlite", "postgresql"]


def _pg_server_url() -> str:
    """The test PostgreSQL's URL (any database on it); skips or fails without one."""
    url = os.environ.get(PG_URL_ENV)
    if not url:
        message = f"no PostgreSQL for the tests: set {PG_URL_ENV} (deploy/postgres/pg.sh start)"
        if os.environ.get("PANTAU_REQUIRE_BROKER"):
            pytest.fail(message)
        pytest.skip(message)
    return url


@contextmanager
def pg_database(server_url: str) -> Iterator[str]:
    """A new, empty database on the server at `server_url`, dropped afterwards."""
    name = f"pantau_test_{uuid.uuid4().hex[:12]}"
    admin = make_engine(server_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


@pytest.fixture(scope="session")
def pg_session_database() -> Iterator[str]:
    """This test session's PostgreSQL database, at the newest schema revision."""
    with pg_database(_pg_server_url()) as url:
        engine = make_engine(url)
        upgrade_schema(engine)
        engine.dispose()
        yield url


def _empty_pg_tables(url: str) -> None:
    register_tables()
    names = ", ".join(t.name for t in Base.metadata.sorted_tables)
    engine = make_engine(url)
    with engine.begin() as connection:
        # A test that left a transaction open must not hang the next one.
        connection.execute(text("SET LOCAL lock_timeout = '20s'"))
        connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store with no rows, once on SQLite (a new file) and once on PostgreSQL (emptied
    tables of the session's database, already at the newest revision)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'pantau.db'}"
    url: str = request.getfixturevalue("pg_session_database")
    _empty_pg_tables(url)
    return url


@pytest.fixture(params=BACKENDS)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all (for migration tests), on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    with pg_database(_pg_server_url()) as url:
        yield url


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions on the fresh store of `database_url` (each backend in turn)."""
    engine = make_engine(database_url)
    ensure_schema(engine)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def read_api(database_url: str) -> Iterator[tuple[Any, TestClient, dict[str, str]]]:
    """An API over a fresh store (no dispatcher), its test client and a read key."""
    settings = ApiSettings(database_url=database_url, run_dispatcher=False)
    app = create_app(settings)
    with app.state.sessionmaker.begin() as session:
        key = create_key(session, "reader", "read")
    with TestClient(app) as client:
        yield app, client, {"Authorization": f"Bearer {key}"}


@dataclass
class SilentServer:
    """Accepts TCP connections on 127.0.0.1 and never answers: a receiver that hangs."""

    accepted: int = 0

    def start(self) -> SilentServer:
        self._sock = socket.create_server(("127.0.0.1", 0), backlog=256)
        self._sock.settimeout(0.05)
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self.port = int(self._sock.getsockname()[1])
        threading.Thread(target=self._serve, daemon=True).start()
        return self

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._held.append(conn)  # held open, never read, never answered
            self.accepted += 1

    def stop(self) -> None:
        self._stop.set()
        self._sock.close()
        for conn in self._held:
            conn.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"


@pytest.fixture
def silent_server() -> Iterator[SilentServer]:
    """A real socket server on 127.0.0.1 that accepts connections and stays silent."""
    server = SilentServer().start()
    yield server
    server.stop()
