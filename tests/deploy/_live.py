"""A live Pantau stack for the observability tests: real services, broker and Prometheus.

`pantau ingest`, `pantau score` and `pantau api` run as subprocesses configured only by
`PANTAU_*` variables, as in production; Prometheus scrapes them with the repository's
config (targets moved to the test ports) and evaluates the real rule files.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import yaml
from _promql import PROMETHEUS_DIR, RULE_FILES
from prometheus_client.parser import text_string_to_metric_families

from shared.settings import KafkaSettings

JOBS = ("pantau-ingest", "pantau-score", "pantau-api")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if condition():
                return
        except (httpx.HTTPError, OSError, ValueError, LookupError):
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.25)


class Receiver:
    """A webhook endpoint on 127.0.0.1 that records every request and answers 200."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], dict[str, Any]]] = []
        lock = threading.Lock()
        received = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with lock:
                    received.append(
                        ({k.lower(): v for k, v in self.headers.items()}, json.loads(body))
                    )
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Stack:
    """Ports, environment and processes of one live run; `logs[name]` is a service's output."""

    kafka: KafkaSettings
    work: Path
    ports: dict[str, int] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("ingest", "score", "api", "prometheus"):
            self.ports[name] = free_port()
        group = self.kafka.events_topic.split(".")[0]
        k = self.kafka
        self.env = {
            key: value for key, value in os.environ.items() if not key.startswith("PANTAU_")
        }
        self.env.update(
            {
                "PANTAU_KAFKA_BOOTSTRAP": k.bootstrap,
                "PANTAU_KAFKA_PARTITIONS": str(k.partitions),
                "PANTAU_KAFKA_EVENTS_TOPIC": k.events_topic,
                "PANTAU_KAFKA_FEATURES_TOPIC": k.features_topic,
                "PANTAU_KAFKA_SCORES_TOPIC": k.scores_topic,
                "PANTAU_KAFKA_DLQ_TOPIC": k.dlq_topic,
                "PANTAU_INGEST_GROUP": f"{group}-ingest",
                "PANTAU_SCORE_GROUP": f"{group}-model",
                "PANTAU_API_GROUP": f"{group}-api",
                # Hourly ticks keep the run short: 144 simulated hours give 144 ticks per product.
                "PANTAU_INGEST_TICK_MS": "3600000",
                "PANTAU_INGEST_ALLOWED_LATENESS_MS": "3600000",
                "PANTAU_INGEST_CHECKPOINT_INTERVAL_S": "1",
                "PANTAU_INGEST_CHECKPOINT_DIR": str(self.work / "checkpoints"),
                "PANTAU_INGEST_FEATURE_LOG_DIR": str(self.work / "feature-log"),
                "PANTAU_INGEST_METRICS_PORT": str(self.ports["ingest"]),
                "PANTAU_SCORE_METRICS_PORT": str(self.ports["score"]),
                "PANTAU_SCORE_MODEL_DIR": str(self.work / "models"),
                "PANTAU_DATABASE_URL": f"sqlite:///{self.work / 'api.db'}",
                "PANTAU_API_PORT": str(self.ports["api"]),
                "PANTAU_WEBHOOK_ALLOW_CIDRS": "127.0.0.1/32",
                "PANTAU_WEBHOOK_POLL_INTERVAL_S": "0.2",
            }
        )

    # -- processes -------------------------------------------------------------------------

    def pantau(self, *args: str) -> str:
        """Run a one-shot `pantau` command; returns its stdout."""
        result = subprocess.run(
            [sys.executable, "-m", "services.cli", *args],
            env=self.env,
            cwd=self.work,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    def start(self, name: str, cmd: list[str]) -> None:
        with (self.work / f"{name}.log").open("wb") as out:
            self.procs[name] = subprocess.Popen(
                cmd, env=self.env, cwd=self.work, stdout=out, stderr=subprocess.STDOUT
            )

    def start_services(self) -> None:
        for name in ("ingest", "score", "api"):
            self.start(name, [sys.executable, "-m", "services.cli", name])

    def start_prometheus(self, binary: str) -> None:
        config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
        config["global"].update(scrape_interval="1s", scrape_timeout="1s", evaluation_interval="1s")
        config["rule_files"] = [str(path) for path in RULE_FILES]
        targets = {
            "pantau-ingest": self.ports["ingest"],
            "pantau-score": self.ports["score"],
            "pantau-api": self.ports["api"],
        }
        # The connectors need platform credentials: this stack runs without them.
        config["scrape_configs"] = [j for j in config["scrape_configs"] if j["job_name"] in targets]
        for job in config["scrape_configs"]:
            job["static_configs"] = [{"targets": [f"127.0.0.1:{targets[job['job_name']]}"]}]
        path = self.work / "prometheus.yml"
        path.write_text(yaml.safe_dump(config))
        self.start(
            "prometheus",
            [
                binary,
                f"--config.file={path}",
                f"--storage.tsdb.path={self.work / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{self.ports['prometheus']}",
                "--log.level=warn",
            ],
        )

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise AssertionError(f"{name} exited with {proc.returncode}:\n{self.log(name)}")

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def log(self, name: str) -> str:
        return (self.work / f"{name}.log").read_text(errors="replace")

    # -- HTTP ------------------------------------------------------------------------------

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def metrics_text(self, name: str) -> str:
        response = httpx.get(f"{self.url(name)}/metrics", timeout=5)
        response.raise_for_status()
        return response.text

    def metric(self, name: str, sample: str, **labels: str) -> float:
        """Sum of the live samples called `sample` (matching `labels`) on a service."""
        total = 0.0
        for family in text_string_to_metric_families(self.metrics_text(name)):
            for s in family.samples:
                if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items()):
                    total += s.value
        return total

    def query(self, expr: str) -> dict[str, Any]:
        response = httpx.get(
            f"{self.url('prometheus')}/api/v1/query", params={"query": expr}, timeout=10
        )
        body = response.json()
        assert body.get("status") == "success", f"{expr}: {body}"
        return body["data"]
