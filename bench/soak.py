"""Soak: `pantau ingest`, `pantau score` and `pantau api` under a steady live stream.

    python -m bench.soak --json bench/results/soak.json [--minutes 30] [--events-per-s 2000]
        [--products 5000]

The three services run as separate processes on the broker at PANTAU_KAFKA_BOOTSTRAP
(topics and groups of their own), as in production. A producer sends events stamped with
the wall clock, ~100 events per message keyed by product, at a steady rate. Every
`--sample-s` the bench records each process's resident memory and open files, the lag of
each consumer group (end offsets minus committed offsets) and the API database's size.

It reports, per process, the slope of RSS and of open files over the second half of the
run (the first half includes warm-up: windows filling, a day of state not reached yet),
as a least-squares fit per hour, and the largest lag seen. Flat means the slope is small
against the level; a leak shows as a steady climb.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
from kafka import KafkaProducer

from bench.processes import SERVICES, ServiceProcesses, free_port, lag, service_env
from shared.kafka import ensure_topics
from shared.partitioning import partition_for
from shared.regions import PROVINCES
from shared.settings import KafkaSettings

ACTIONS = ("view", "view", "view", "view", "like", "comment", "share", "add_to_cart", "purchase")


def stream(kafka: KafkaSettings, events_per_s: int, products: int, stop: threading.Event) -> None:
    """Steady live events: one batch a second, ~100 events per message, keyed by product."""
    rng = np.random.default_rng(1)
    producer = KafkaProducer(bootstrap_servers=kafka.bootstrap, linger_ms=20, acks=1)
    popularity = rng.pareto(1.2, products) + 1
    popularity /= popularity.sum()
    regions = list(PROVINCES)
    sent = 0
    next_s = time.monotonic()
    while not stop.is_set():
        now_ms = int(time.time() * 1000)
        picks = rng.choice(products, size=events_per_s, p=popularity)
        by_partition: dict[int, list[bytes]] = {}
        for i, product in enumerate(picks.tolist()):
            pid = f"soak-{product}"
            line = json.dumps(
                {
                    "event_id": f"{now_ms}-{sent + i}",
                    "ts": now_ms - int(rng.integers(0, 5_000)),
                    "platform": "tiktok",
                    "product_id": pid,
                    "action": ACTIONS[i % len(ACTIONS)],
                    "creator_id": f"c{int(rng.integers(0, 50_000))}",
                    "region": regions[i % len(regions)],
                    "category": f"cat{product % 7}",
                }
            ).encode()
            by_partition.setdefault(partition_for(pid, kafka.partitions), []).append(line)
        for partition, lines in by_partition.items():
            for start in range(0, len(lines), 100):
                producer.send(
                    kafka.events_topic,
                    value=b"\n".join(lines[start : start + 100]),
                    partition=partition,
                )
        sent += events_per_s
        next_s += 1.0
        stop.wait(max(0.0, next_s - time.monotonic()))
    producer.flush()
    producer.close()


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def open_files(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def slope_per_hour(times_s: list[float], values: list[float]) -> float:
    if len(times_s) < 3:
        return float("nan")
    return float(np.polyfit(np.array(times_s) / 3600, np.array(values), 1)[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--events-per-s", type=int, default=2_000)
    parser.add_argument("--products", type=int, default=5_000)
    parser.add_argument("--sample-s", type=float, default=10.0)
    parser.add_argument("--json", type=Path, default=Path("bench/results/soak.json"))
    args = parser.parse_args()

    run = uuid.uuid4().hex[:8]
    bootstrap = KafkaSettings().bootstrap  # PANTAU_KAFKA_BOOTSTRAP, or the default
    kafka = KafkaSettings(
        bootstrap=bootstrap,
        events_topic=f"soak.{run}.events",
        features_topic=f"soak.{run}.features",
        scores_topic=f"soak.{run}.scores",
        dlq_topic=f"soak.{run}.dlq",
    )
    ensure_topics(kafka)
    work = Path(tempfile.mkdtemp(prefix="pantau-soak-"))
    # Metrics on, as in production: their cost is part of what runs for hours.
    env = service_env(
        kafka,
        work,
        PANTAU_INGEST_METRICS_PORT=str(free_port()),
        PANTAU_SCORE_METRICS_PORT=str(free_port()),
        PANTAU_API_REQUIRE_API_KEYS="true",
    )
    groups = {
        "ingest": (env["PANTAU_INGEST_GROUP"], kafka.events_topic),
        "score": (env["PANTAU_SCORE_GROUP"], kafka.features_topic),
        "api": (env["PANTAU_API_GROUP"], kafka.scores_topic),
    }
    processes = ServiceProcesses(env, work)
    procs = {name: processes.start(name) for name in SERVICES}
    stop = threading.Event()
    producer = threading.Thread(
        target=stream, args=(kafka, args.events_per_s, args.products, stop), daemon=True
    )
    producer.start()
    samples: list[dict[str, Any]] = []
    started = time.monotonic()
    try:
        while time.monotonic() - started < args.minutes * 60:
            time.sleep(args.sample_s)
            try:
                processes.check_alive()
            except AssertionError as exc:
                raise SystemExit(f"pantau {exc} ({work})") from exc
            sample = {
                "t_s": round(time.monotonic() - started, 1),
                "rss_bytes": {n: rss_bytes(p.pid) for n, p in procs.items()},
                "open_files": {n: open_files(p.pid) for n, p in procs.items()},
                "lag_messages": {n: lag(kafka, g, t) for n, (g, t) in groups.items()},
                "db_bytes": sum(f.stat().st_size for f in work.glob("api.db*")),
            }
            samples.append(sample)
            print(json.dumps(sample), flush=True)
    finally:
        stop.set()
        producer.join(timeout=30)
        processes.stop(timeout_s=60)

    second_half = [s for s in samples if s["t_s"] >= args.minutes * 30]
    times = [s["t_s"] for s in second_half]
    report: dict[str, Any] = {
        "minutes": args.minutes,
        "events_per_s": args.events_per_s,
        "products": args.products,
        "samples": len(samples),
        "services": {},
        "db_bytes_slope_per_hour": slope_per_hour(times, [s["db_bytes"] for s in second_half]),
        "db_bytes_end": samples[-1]["db_bytes"] if samples else None,
    }
    for name in SERVICES:
        rss = [s["rss_bytes"][name] for s in second_half]
        fds = [s["open_files"][name] for s in second_half]
        report["services"][name] = {
            "rss_mb_median_second_half": round(float(np.median(rss)) / 1e6, 1),
            "rss_mb_slope_per_hour": round(slope_per_hour(times, rss) / 1e6, 2),
            "open_files_median_second_half": float(np.median(fds)),
            "open_files_slope_per_hour": round(slope_per_hour(times, fds), 2),
            "max_lag_messages": max(s["lag_messages"][name] for s in samples),
        }
    print(json.dumps(report, indent=2))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"report": report, "samples": samples}, indent=1))


if __name__ == "__main__":
    main()
