"""Webhook delivery throughput to a local receiver, with and without hanging endpoints.

    python -m bench.webhooks --json bench/results/webhooks.json [--deliveries 2000] [--hanging 5]

One dispatcher (production worker pool and endpoint limits, 2 s request timeout) over a
fresh SQLite outbox delivers `--deliveries` alerts to a healthy receiver on 127.0.0.1
(a threaded HTTP server answering 200). The "hanging" scenario adds `--hanging`
subscriptions to a socket server that accepts and never answers, each also queued
every alert. Reported: healthy deliveries/s (first claim to last receipt), the p50 and
p99 of each alert's time in the outbox (enqueued together, so it grows with the
backlog), and the CPU-seconds of this process (dispatcher and receiver).
"""

from __future__ import annotations

import argparse
import json
import resource
import socket
import statistics
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

from services.api.db import make_engine, make_sessionmaker
from services.api.schema import ensure_schema
from services.api.webhooks.dispatcher import Dispatcher
from services.api.webhooks.models import Subscription
from services.api.webhooks.outbox import enqueue_alert
from services.api.webhooks.signing import generate_secret
from shared.settings import WebhookSettings

SETTINGS = {"allow_cidrs": "127.0.0.0/8", "request_timeout_s": 2.0, "poll_interval_s": 0.05}


class _Healthy(BaseHTTPRequestHandler):
    received: ClassVar[dict[str, float]] = {}

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        self.received[json.loads(body)["data"]["id"]] = time.monotonic()
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


def _silent_server() -> tuple[socket.socket, list[socket.socket]]:
    sock = socket.create_server(("127.0.0.1", 0), backlog=512)
    held: list[socket.socket] = []

    def serve() -> None:
        while True:
            try:
                held.append(sock.accept()[0])
            except OSError:
                return

    threading.Thread(target=serve, daemon=True).start()
    return sock, held


def _alert(i: int) -> dict[str, Any]:
    return {
        "id": f"alert-{i}",
        "product_id": f"p{i}",
        "product_name": f"Keripik {i}",
        "category": "makanan",
        "regions": ["ID-JT"],
        "probability": 0.9,
        "score": 2.0,
        "model_version": "bench",
        "reasons": [],
        "message_id": "naik",
        "message_en": "rising",
        "ts": "2026-03-02T00:00:00Z",
        "tick_ms": 1_772_409_600_000,
    }


def run(deliveries: int, hanging: int) -> dict[str, Any]:
    received: ClassVar[dict[str, float]] = {}
    handler = type("Handler", (_Healthy,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    silent, held = _silent_server()
    with tempfile.TemporaryDirectory(prefix="pantau-bench-webhooks-") as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'outbox.db'}")
        ensure_schema(engine)
        sessions = make_sessionmaker(engine)
        with sessions.begin() as session:
            hang_url = f"http://127.0.0.1:{silent.getsockname()[1]}/hook"
            for _ in range(hanging):
                session.add(Subscription(url=hang_url, secret=generate_secret()))
            healthy_url = f"http://127.0.0.1:{server.server_address[1]}/hook"
            session.add(Subscription(url=healthy_url, secret=generate_secret()))
        with sessions.begin() as session:
            for i in range(deliveries):
                enqueue_alert(session, _alert(i))
        enqueued = time.monotonic()
        cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        dispatcher = Dispatcher(sessions, WebhookSettings(**SETTINGS))
        dispatcher.start()
        deadline = enqueued + 600
        while len(received) < deliveries and time.monotonic() < deadline:
            time.sleep(0.02)
        elapsed = time.monotonic() - enqueued
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        dispatcher.stop(timeout_s=5)
        engine.dispose()
    server.shutdown()
    server.server_close()
    silent.close()
    for conn in held:
        conn.close()
    waits_s = sorted(t - enqueued for t in received.values())
    return {
        "hanging_subscriptions": hanging,
        "deliveries": len(received),
        "deliveries_per_s": round(len(received) / elapsed, 1),
        "outbox_wait_p50_s": round(statistics.median(waits_s), 3),
        "outbox_wait_p99_s": round(waits_s[int(0.99 * (len(waits_s) - 1))], 3),
        "cpu_s": round(
            cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime,
            2,
        ),
        "hanging_connections": len(held),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=Path("bench/results/webhooks.json"))
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--hanging", type=int, default=5)
    args = parser.parse_args()
    result = {
        "settings": SETTINGS,
        "runs": [run(args.deliveries, 0), run(args.deliveries, args.hanging)],
    }
    print(json.dumps(result, indent=2))
    args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
