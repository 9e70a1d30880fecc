"""How the services fail on a bad start: one line that names the cause, and a non-zero exit."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
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
