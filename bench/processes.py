"""`pantau` services as OS processes on a broker: for the benchmarks, and for the tests that
run the real services (faults, the live stack, ingest crashes).

A service runs as `python -m services.cli NAME`, configured only by the `PANTAU_*`
variables of `service_env` (the caller's own are dropped, so a developer's settings never
leak in), with this checkout's code first on the path whatever the working directory, and
its output appended to `WORK/NAME.log`.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from kafka import KafkaConsumer, TopicPartition

from shared.kafka import client_options
from shared.settings import KafkaSettings

REPO = Path(__file__).resolve().parents[1]
SERVICES = ("ingest", "score", "api")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def service_env(kafka: KafkaSettings, work: Path, **overrides: str) -> dict[str, str]:
    """The environment of every service on `kafka`'s topics with state under `work`.

    Each service has a consumer group of its own named after the events topic, metrics
    ports are off, the scorer has no promoted model (the cold-start baseline scores), and
    the API serves without keys on a free port, with a SQLite store. `overrides` (full
    variable names) replace or add settings.
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith("PANTAU_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    env |= {
        "PANTAU_KAFKA_BOOTSTRAP": kafka.bootstrap,
        "PANTAU_KAFKA_PARTITIONS": str(kafka.partitions),
        "PANTAU_KAFKA_EVENTS_TOPIC": kafka.events_topic,
        "PANTAU_KAFKA_FEATURES_TOPIC": kafka.features_topic,
        "PANTAU_KAFKA_SCORES_TOPIC": kafka.scores_topic,
        "PANTAU_KAFKA_DLQ_TOPIC": kafka.dlq_topic,
        "PANTAU_INGEST_GROUP": f"{kafka.events_topic}.ingest",
        "PANTAU_INGEST_CHECKPOINT_DIR": str(work / "checkpoints"),
        "PANTAU_INGEST_FEATURE_LOG_DIR": str(work / "feature-log"),
        "PANTAU_INGEST_METRICS_PORT": "0",
        "PANTAU_SCORE_GROUP": f"{kafka.events_topic}.score",
        "PANTAU_SCORE_METRICS_PORT": "0",
        "PANTAU_SCORE_MODEL_DIR": str(work / "models"),
        "PANTAU_API_GROUP": f"{kafka.events_topic}.api",
        "PANTAU_API_PORT": str(free_port()),
        "PANTAU_API_REQUIRE_API_KEYS": "false",
        "PANTAU_DATABASE_URL": f"sqlite:///{work / 'api.db'}",
    }
    return env | overrides


class ServiceProcesses:
    """Named processes (by default the `pantau` service of that name), each logging to
    `WORK/NAME.log`; `starts[name]` counts how often a name was started."""

    def __init__(self, env: dict[str, str], work: Path, cwd: Path = REPO) -> None:
        self.env, self.work, self.cwd = env, work, cwd
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.starts: dict[str, int] = {}

    def start(self, name: str, cmd: list[str] | None = None) -> subprocess.Popen[bytes]:
        """Start `cmd` (default: `pantau NAME`); a restart appends to the same log."""
        command = cmd or [sys.executable, "-m", "services.cli", name]
        with self.log_path(name).open("ab") as out:
            proc = subprocess.Popen(
                command, env=self.env, cwd=self.cwd, stdout=out, stderr=subprocess.STDOUT
            )
        self.procs[name] = proc
        self.starts[name] = self.starts.get(name, 0) + 1
        return proc

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Signal one process (kill -9 by default) and wait for it to end."""
        proc = self.procs[name]
        if proc.poll() is None:
            proc.send_signal(sig)
        proc.wait(timeout=30)

    def check_alive(self) -> None:
        """Raise, with the end of its log, if any process has exited."""
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise AssertionError(f"{name} exited with {proc.returncode}:\n{self.tail(name)}")

    def stop(self, timeout_s: float = 30.0) -> None:
        """SIGTERM to all, then SIGKILL to any still running after `timeout_s`."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def log_path(self, name: str) -> Path:
        return self.work / f"{name}.log"

    def log(self, name: str) -> str:
        return self.log_path(name).read_text(errors="replace")

    def tail(self, name: str, chars: int = 3000) -> str:
        return self.log(name)[-chars:]


def wait_for(
    condition: Callable[[], bool],
    what: str,
    timeout_s: float = 60.0,
    interval_s: float = 0.25,
    alive: Callable[[], None] | None = None,
) -> None:
    """Until `condition()` holds. An OS, HTTP or lookup error counts as not yet (a service
    still starting); `alive()` runs first on every try and may raise to give up early."""
    deadline = time.monotonic() + timeout_s
    while True:
        if alive is not None:
            alive()
        try:
            if condition():
                return
        except (httpx.HTTPError, OSError, ValueError, LookupError):
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(interval_s)


def end_offsets(kafka: KafkaSettings, topic: str) -> dict[int, int]:
    """The next offset of each of `topic`'s `kafka.partitions` partitions."""
    consumer = KafkaConsumer(**client_options(kafka))
    try:
        tps = [TopicPartition(topic, p) for p in range(kafka.partitions)]
        return {tp.partition: offset for tp, offset in consumer.end_offsets(tps).items()}
    finally:
        consumer.close()


def lag(kafka: KafkaSettings, group: str, topic: str) -> int:
    """Messages of `topic` not yet committed by `group`: end offsets minus its commits."""
    consumer = KafkaConsumer(**client_options(kafka), group_id=group)
    try:
        tps = [TopicPartition(topic, p) for p in range(kafka.partitions)]
        ends = consumer.end_offsets(tps)
        return sum(ends[tp] - (consumer.committed(tp) or 0) for tp in tps)
    finally:
        consumer.close()


def server_pid(url: str) -> int | None:
    """The PostgreSQL server's main process when it runs on this host, else None (SQLite
    works inside the API process, whose CPU is counted already)."""
    # Late: every test session imports this module, and few of them need SQLAlchemy.
    from sqlalchemy import make_url

    from services.api.db import make_engine

    if make_url(url).get_backend_name() != "postgresql":
        return None
    engine = make_engine(url)
    try:
        with engine.connect() as connection:  # the backend ends with its connection
            backend = int(connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())
            stat = Path(f"/proc/{backend}/stat").read_text()
    except OSError:
        return None  # a server on another host
    finally:
        engine.dispose()
    return int(stat.rsplit(")", 1)[1].split()[1])


def tree_cpu_seconds(pid: int | None) -> float:
    """User + system CPU time of a server and its children, ended ones included (their
    time is added to the parent's when it reaps them); 0 without a server."""
    if pid is None:
        return 0.0
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        if stat.parent.name == str(pid):
            ticks += sum(int(f) for f in fields[11:15])
        elif fields[1] == str(pid):
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")
