"""`pantau demo` serves a non-empty /v1/trends within 60 seconds, with no broker."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_demo_serves_trends_quickly() -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PANTAU_KAFKA")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "demo", "--port", str(port), "--speed", "4"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        items: list = []
        while time.monotonic() < deadline and not items:
            time.sleep(1)
            try:
                items = httpx.get(f"http://127.0.0.1:{port}/v1/trends").json()["items"]
            except httpx.TransportError:
                assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        assert items, "no trends within 60 s"
        assert items == sorted(items, key=lambda i: -i["score"])
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
