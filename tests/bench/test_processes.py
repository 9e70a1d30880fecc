"""The process helper the fault, live-stack and ingest tests and the soak bench share."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench.processes import REPO, ServiceProcesses, service_env, wait_for
from shared.settings import KafkaSettings


def test_the_environment_is_the_services_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PANTAU_API_REQUIRE_API_KEYS", "true")
    monkeypatch.setenv("PANTAU_SOMETHING_ELSE", "x")
    kafka = KafkaSettings(bootstrap="127.0.0.1:1", events_topic="t1.events")
    env = service_env(kafka, tmp_path, PANTAU_INGEST_TICK_MS="3600000")
    assert "PANTAU_SOMETHING_ELSE" not in env
    assert env["PANTAU_API_REQUIRE_API_KEYS"] == "false"
    assert env["PANTAU_INGEST_TICK_MS"] == "3600000"
    assert env["PANTAU_INGEST_GROUP"] != env["PANTAU_SCORE_GROUP"] != env["PANTAU_API_GROUP"]
    # From any working directory the processes import this checkout's code.
    where = subprocess.run(
        [sys.executable, "-c", "import services; print(services.__file__)"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(where.stdout.strip()).resolve().is_relative_to(REPO)


def test_processes_log_restart_and_report_their_death(tmp_path: Path) -> None:
    processes = ServiceProcesses({}, tmp_path)
    talk = [sys.executable, "-c", "import time; print('up', flush=True); time.sleep(60)"]
    processes.start("a", talk)
    wait_for(lambda: "up" in processes.log("a"), "a to start", timeout_s=30)
    processes.check_alive()
    processes.kill("a")
    with pytest.raises(AssertionError, match="a exited with -9"):
        processes.check_alive()
    processes.start("a", talk)
    wait_for(lambda: processes.log("a").count("up") == 2, "a to start again", timeout_s=30)
    assert processes.starts == {"a": 2}
    processes.stop(timeout_s=10)
    assert all(p.poll() is not None for p in processes.procs.values())
