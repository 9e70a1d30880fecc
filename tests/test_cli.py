"""How the services fail on a bad start: one line that names the cause, and a non-zero exit."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def pantau(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        cwd=REPO,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("command", "variable", "value", "says"),
    [
        ("ingest", "PANTAU_KAFKA_PARTITIONS", "abc", "valid integer"),
        ("ingest", "PANTAU_INGEST_TICK_MS", "-5", "greater than 0"),
        ("ingest", "PANTAU_INGEST_TICK_MS", "7000", "must divide one hour"),
        ("score", "PANTAU_SCORE_METRICS_PORT", "99999", "less than or equal to 65535"),
        ("api", "PANTAU_API_RATE_LIMIT_PER_S", "-1", "greater than 0"),
    ],
)
def test_a_bad_setting_is_one_line_naming_the_variable(
    command: str, variable: str, value: str, says: str
) -> None:
    done = pantau(command, **{variable: value})
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"pantau: {variable}={value}: ")
    assert says in lines[0]


def test_a_taken_metrics_port_is_named() -> None:
    with socket.socket() as holder:
        holder.bind(("0.0.0.0", 0))
        holder.listen()
        port = holder.getsockname()[1]
        done = pantau("ingest", PANTAU_INGEST_METRICS_PORT=str(port))
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last == (
        f"pantau: metrics port {port} is already in use: "
        "set PANTAU_INGEST_METRICS_PORT to a free port (0: off)"
    )


def test_a_taken_api_port_is_named_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        done = pantau(
            "api",
            PANTAU_API_PORT=str(port),
            PANTAU_DATABASE_URL=f"sqlite:///{tmp_path}/api.db",
        )
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last == (
        f"pantau: port {port} on 127.0.0.1 is already in use: pass --port or set PANTAU_API_PORT"
    )


def test_keys_list_and_revoke_through_the_cli_and_the_api(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from services.api.app import create_app
    from services.api.auth import KEY_CACHE_TTL_S, create_key
    from shared.settings import ApiSettings

    db = {"PANTAU_DATABASE_URL": f"sqlite:///{tmp_path / 'api.db'}"}
    made = {"koperasi": pantau("keys", "create", "--name", "koperasi", **db).stdout.strip()}
    settings = ApiSettings(database_url=db["PANTAU_DATABASE_URL"], run_dispatcher=False)
    app = create_app(settings)
    with app.state.sessionmaker.begin() as session:
        made["connector"] = create_key(session, "connector", "admin")
        made["spare"] = create_key(session, "spare", "read")
        create_key(session, "twin", "read")
        create_key(session, "twin", "read")
    with TestClient(app) as client:

        def status(key: str) -> int:
            return client.get("/v1/alerts", headers={"Authorization": f"Bearer {key}"}).status_code

        assert [status(k) for k in made.values()] == [200, 200, 200]  # now cached
        listed = pantau("keys", "list", **db)
        assert listed.returncode == 0
        rows = [line.split() for line in listed.stdout.splitlines()[1:]]
        assert [(r[0], r[1], r[2], r[4]) for r in rows] == [
            ("1", "koperasi", "read", "-"),
            ("2", "connector", "admin", "-"),
            ("3", "spare", "read", "-"),
            ("4", "twin", "read", "-"),
            ("5", "twin", "read", "-"),
        ]
        assert not any(key in listed.stdout for key in made.values())
        assert pantau("keys", "revoke", "koperasi", **db).returncode == 0
        assert pantau("keys", "revoke", "2", **db).stdout.startswith("revoked key 2 (connector")
        again = pantau("keys", "revoke", "koperasi", **db)
        assert again.returncode == 1 and "no active key" in again.stderr
        twins = pantau("keys", "revoke", "twin", **db)
        assert twins.returncode == 1 and "ids 4, 5" in twins.stderr
        rows = [line.split() for line in pantau("keys", "list", **db).stdout.splitlines()[1:]]
        assert [r[4] != "-" for r in rows] == [True, True, False, False, False]
        time.sleep(KEY_CACHE_TTL_S)  # the running API forgets what it verified
        assert [status(k) for k in made.values()] == [401, 401, 200]
    with TestClient(create_app(settings)) as fresh:  # a new process refuses them at once
        reply = fresh.get("/v1/alerts", headers={"Authorization": f"Bearer {made['koperasi']}"})
        assert reply.status_code == 401
