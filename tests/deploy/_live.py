"""A live Pantau stack for the observability tests: real services, broker and Prometheus.

`pantau ingest`, `pantau score` and `pantau api` run as subprocesses configured only by
`PANTAU_*` variables, as in production; Prometheus scrapes them with the repository's
config (targets moved to the test ports) and evaluates the real rule files.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import yaml
from _promql import PROMETHEUS_DIR, RULE_FILES
from prometheus_client.parser import text_string_to_metric_families

from bench.processes import ServiceProcesses, free_port, service_env
from bench.processes import wait_for as wait_for
from shared.settings import KafkaSettings

JOBS = ("pantau-ingest", "pantau-score", "pantau-api")


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

    def __post_init__(self) -> None:
        for name in ("ingest", "score", "api", "prometheus"):
            self.ports[name] = free_port()
        self.env = service_env(
            self.kafka,
            self.work,
            # Hourly ticks keep the run short: 144 simulated hours give 144 ticks per product.
            PANTAU_INGEST_TICK_MS="3600000",
            PANTAU_INGEST_ALLOWED_LATENESS_MS="3600000",
            PANTAU_INGEST_CHECKPOINT_INTERVAL_S="1",
            PANTAU_INGEST_METRICS_PORT=str(self.ports["ingest"]),
            PANTAU_SCORE_METRICS_PORT=str(self.ports["score"]),
            PANTAU_API_PORT=str(self.ports["api"]),
            PANTAU_API_REQUIRE_API_KEYS="true",
            PANTAU_WEBHOOK_ALLOW_CIDRS="127.0.0.1/32",
            PANTAU_WEBHOOK_POLL_INTERVAL_S="0.2",
        )
        self.processes = ServiceProcesses(self.env, self.work, cwd=self.work)

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

    def start_services(self) -> None:
        for name in ("ingest", "score", "api"):
            self.processes.start(name)

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
        self.processes.start(
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
        self.processes.check_alive()

    def stop(self) -> None:
        self.processes.stop(timeout_s=20)

    def log(self, name: str) -> str:
        return self.processes.log(name)

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
