"""Lifecycle of deploy/postgres/pg.sh on its own port and state dir (beside the test
PostgreSQL): start, idempotent start, a refused second port, a query, stop, start again
on the same data, stop."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import text

from bench.processes import free_port
from services.api.db import make_engine

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "postgres" / "pg.sh"


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_start_is_idempotent_and_stop_start_keeps_the_data(tmp_path: Path) -> None:
    if not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")) and os.getuid() != 0:
        pytest.skip("PostgreSQL is not installed and cannot be installed without root")
    port = free_port()
    env = {
        **os.environ,
        "PANTAU_PG_PORT": str(port),
        "PANTAU_PG_DIR": str(tmp_path / "pg"),
        "PANTAU_PG_DURABLE": "0",
    }
    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/pantau"
    state = None
    try:
        first = _run(env, "start")
        assert first.returncode == 0, first.stderr
        assert first.stdout.strip().splitlines()[-1] == url
        status = _run(env, "status")
        assert status.returncode == 0 and f"running port {port}" in status.stdout
        state = Path(status.stdout.split(" data ", 1)[1].strip()).parent
        again = _run(env, "start")
        assert again.returncode == 0 and "already running" in again.stdout
        other = _run({**env, "PANTAU_PG_PORT": str(free_port())}, "start")
        assert other.returncode != 0 and f"already running on port {port}" in other.stderr
        engine = make_engine(url)
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE kept (n int)"))
            connection.execute(text("INSERT INTO kept VALUES (42)"))
        engine.dispose()
        assert _run(env, "stop").returncode == 0
        assert _run(env, "status").returncode == 1
        assert _run(env, "start").returncode == 0
        engine = make_engine(url)
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT n FROM kept")) == 42
        engine.dispose()
    finally:
        _run(env, "stop")
        if state is not None:
            shutil.rmtree(state, ignore_errors=True)
