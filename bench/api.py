"""GET /v1/trends under load: `pantau api` (uvicorn, production settings) over a store of
100k scored products, driven by wrk from a separate process.

    python -m bench.api --json bench/results/api.json [--products 100000] [--duration-s 10]
        [--runs 3] [--database-url postgresql://…] [--replicas 2]

Each scenario runs wrk (`--connections` keep-alive connections, 2 threads) against one
query shape, `--runs` times (scenarios interleaved). The "cursor walk" scenario asks for
pages after random cursors (20,000 of them, far more than the API caches), so it
measures pages built from the store rather than cached ones. The table reports the
medians of requests/s, p50 and p99 latency, and requests per CPU-second of the API
process (its user+system time until it is idle again: the machine is shared, so
wall-clock rates are noisy while the work per request is not), and per CPU-second of the
API and the store together (a PostgreSQL server on this host: its processes' time). The
API runs with its production defaults except: no Kafka consumer (the store is filled directly) and a
per-key rate limit high enough not to answer 429 to the benchmark.

With `--replicas N`, N `pantau api` processes serve the same store and one wrk per
replica drives each with its share of the connections (no load balancer in between):
requests/s add up, CPU time is summed over the replicas, and the p99 reported is the
highest of the replicas' p99s, an upper bound of the p99 of all requests together.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import polars as pl
from sqlalchemy import make_url

from bench.processes import (
    ServiceProcesses,
    free_port,
    server_pid,
    tree_cpu_seconds,
    wait_for,
)
from services.api.auth import create_key
from services.api.db import make_engine, make_sessionmaker
from services.api.routes.trends import encode_cursor
from services.api.schema import upgrade_schema
from services.api.store import save_scores
from shared.regions import PROVINCES
from shared.scores import SCORE_SCHEMA

TICK_MS = 1_772_409_600_000
CATEGORIES = ("makanan", "minuman", "fashion", "kecantikan", "rumah", "hobi", "elektronik")
SCENARIOS = {
    "top 50": "/v1/trends",
    "category": "/v1/trends?category=fashion&limit=20",
    "region": "/v1/trends?region=ID-JT&limit=20",
    "min_score": "/v1/trends?min_score=0.8&limit=100",
    "cursor walk": "/v1/trends?cursor=<random>",
}
CURSORS = 20_000


def fill_store(url: str, products: int, seed: int = 1) -> str:
    """`products` scored products (one tick) and a read key; returns the key."""
    rng = np.random.default_rng(seed)
    provinces = list(PROVINCES)
    probability = rng.beta(1.2, 6.0, products)
    frame = pl.DataFrame(
        {
            "product_id": [f"prod-{i:06d}" for i in range(products)],
            "partition": rng.integers(0, 4, products),
            "tick_ms": np.full(products, TICK_MS),
            "watermark_ms": np.full(products, TICK_MS),
            "category": rng.choice(CATEGORIES, products),
            "product_name": [f"Produk {i}" for i in range(products)],
            "top_regions": [list(rng.choice(provinces, 2, replace=False)) for _ in range(products)],
            "platforms": [["tiktok", "shopee"]] * products,
            "probability": probability,
            "score": probability * 10,
            "model_version": ["bench-1"] * products,
            "reasons": [[{"feature": "growth_6h_vs_24h", "text_id": "naik", "text_en": "up"}]]
            * products,
            "events_1h": rng.gamma(2.0, 50.0, products),
            "events_24h": rng.gamma(2.0, 500.0, products),
            "growth_6h_vs_24h": rng.gamma(2.0, 1.0, products),
            "creators_24h": rng.integers(1, 50, products).astype(float),
            "regions_24h": rng.integers(1, 10, products).astype(float),
        }
    )
    frame = frame.select([pl.col(c).cast(t) for c, t in SCORE_SCHEMA.items() if c in frame.columns])
    engine = make_engine(url)
    upgrade_schema(engine)
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        save_scores(session, frame)
        key = create_key(session, "bench", "read")
    engine.dispose()
    return key


def cursor_script(path: Path, products: int, seed: int = 2) -> Path:
    """A wrk Lua script asking for pages after random (score, product) cursors."""
    rng = np.random.default_rng(seed)
    scores = rng.uniform(0.3, 4.0, CURSORS)
    ids = rng.integers(0, products, CURSORS)
    paths = ",\n".join(
        f'"/v1/trends?cursor={encode_cursor(float(s), f"prod-{i:06d}")}"'
        for s, i in zip(scores, ids, strict=True)
    )
    path.write_text(
        f"local paths = {{\n{paths}\n}}\n"
        "local threads = 0\n"
        "function setup(thread) threads = threads + 1; thread:set('id', threads) end\n"
        "function init(args) math.randomseed(os.time() * 31 + id) end\n"
        "function request() return wrk.format(nil, paths[math.random(#paths)]) end\n"
    )
    return path


def start_api(processes: ServiceProcesses, name: str, base: str) -> subprocess.Popen[bytes]:
    """`pantau api` (logging to NAME.log), once it answers /healthz."""
    proc = processes.start(name, [sys.executable, "-m", "services.cli", "api"])

    def healthy() -> bool:
        return httpx.get(f"{base}/healthz", timeout=2).status_code == 200

    wait_for(healthy, "pantau api to start", 120, 0.3, processes.check_alive)
    return proc


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def parse_wrk(text: str) -> dict[str, Any]:
    """Requests/s, p50/p99 (ms) and non-2xx count from `wrk --latency` output."""

    def latency(pct: str) -> float:
        match = re.search(rf"^\s*{pct}%\s+([\d.]+)(us|ms|s)\s*$", text, re.MULTILINE)
        if match is None:
            raise ValueError(f"no {pct}% latency in wrk output:\n{text}")
        return float(match.group(1)) * _UNITS_MS[match.group(2)]

    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    total = re.search(r"(\d+) requests in", text)
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    errors = re.search(r"Socket errors:.*", text)
    if rps is None or total is None:
        raise ValueError(f"unexpected wrk output:\n{text}")
    return {
        "requests_per_s": round(float(rps.group(1)), 1),
        "p50_ms": round(latency("50"), 2),
        "p99_ms": round(latency("99"), 2),
        "requests": int(total.group(1)),
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": errors.group(0) if errors else "",
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_wrk(
    url: str,
    key: str,
    connections: int,
    duration_s: int,
    script: Path | None = None,
    threads: int = 2,
) -> dict[str, Any]:
    out = subprocess.run(
        [
            "wrk",
            *(["-s", str(script)] if script else []),
            f"-t{threads}",
            f"-c{connections}",
            f"-d{duration_s}s",
            "--timeout",
            "10s",
            "--latency",
            "-H",
            f"Authorization: Bearer {key}",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return parse_wrk(out)


def settle(pid: int, timeout_s: float = 60.0) -> None:
    """Wait until the API is idle: requests wrk gave up on are still answered after it
    exits, and must not be billed to the next scenario."""
    deadline = time.monotonic() + timeout_s
    last = cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = cpu_seconds(pid)
        if now - last < 0.1:
            return
        last = now


def measure(
    api_pids: list[int],
    store_pid: int | None,
    urls: list[str],
    key: str,
    connections: int,
    duration_s: int,
    script: Path | None = None,
) -> dict[str, Any]:
    """One wrk run per replica at once, with the CPU time the replicas (until idle again),
    the PostgreSQL server and wrk spent on them; requests add up, the p99 is the replicas'
    highest."""
    api_before, wrk_before = sum(map(cpu_seconds, api_pids)), children_cpu_seconds()
    store_before = tree_cpu_seconds(store_pid)
    share, threads = connections // len(urls), max(1, 2 // len(urls))
    with ThreadPoolExecutor(len(urls)) as pool:
        parts = list(
            pool.map(lambda url: run_wrk(url, key, share, duration_s, script, threads), urls)
        )
    for pid in api_pids:
        settle(pid)
    api_cpu_s = sum(map(cpu_seconds, api_pids)) - api_before
    store_cpu_s = tree_cpu_seconds(store_pid) - store_before
    requests = sum(p["requests"] for p in parts)
    return {
        "requests_per_s": round(sum(p["requests_per_s"] for p in parts), 1),
        "p50_ms": max(p["p50_ms"] for p in parts),
        "p99_ms": max(p["p99_ms"] for p in parts),
        "requests": requests,
        "non_2xx": sum(p["non_2xx"] for p in parts),
        "socket_errors": "; ".join(p["socket_errors"] for p in parts if p["socket_errors"]),
        "api_cpu_s": round(api_cpu_s, 2),
        "wrk_cpu_s": round(children_cpu_seconds() - wrk_before, 2),
        "requests_per_api_cpu_s": round(requests / max(api_cpu_s, 0.01), 1),
        "store_cpu_s": round(store_cpu_s, 2),
        "requests_per_cpu_s": round(requests / max(api_cpu_s + store_cpu_s, 0.01), 1),
    }


def medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Median of each numeric figure over the runs, plus the runs themselves."""
    numeric = [k for k, v in runs[0].items() if isinstance(v, int | float)]
    return {
        **{k: round(statistics.median(r[k] for r in runs), 2) for k in numeric},
        "runs": runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, required=True)
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--duration-s", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3, help="runs per scenario (medians)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--database-url",
        help="store to fill and serve, e.g. a PostgreSQL database (default: a new SQLite file)",
    )
    parser.add_argument("--replicas", type=int, default=1, help="`pantau api` processes")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("bench.api needs wrk (Debian package `wrk`: apt-get install wrk)")
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'pantau.db'}"
        started = time.perf_counter()
        key = fill_store(url, args.products)
        fill_s = time.perf_counter() - started
        env = {
            **os.environ,
            "PANTAU_DATABASE_URL": url,
            "PANTAU_API_CONSUME_SCORES": "false",
            "PANTAU_API_RATE_LIMIT_PER_S": "1000000",
            "PANTAU_API_RATE_LIMIT_BURST": "1000000",
        }
        ports = [free_port() for _ in range(args.replicas)]
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        replicas = [
            ServiceProcesses(env | {"PANTAU_API_PORT": str(port)}, Path(tmp), cwd=Path(tmp))
            for port in ports
        ]
        try:
            pids = [
                start_api(processes, f"api-{i}", base).pid
                for i, (processes, base) in enumerate(zip(replicas, bases, strict=True))
            ]
            auth = {"Authorization": f"Bearer {key}"}
            for base in bases:
                first = httpx.get(f"{base}/v1/trends", headers=auth)
                assert first.status_code == 200 and len(first.json()["items"]) == 50, first.text
            store_pid = server_pid(url)
            warm_up = [f"{b}/v1/trends" for b in bases]
            measure(pids, store_pid, warm_up, key, args.connections, 3)
            script = cursor_script(Path(tmp) / "cursors.lua", args.products)
            runs: dict[str, list[dict[str, Any]]] = {name: [] for name in SCENARIOS}
            load = []
            for _ in range(args.runs):
                for name, path in SCENARIOS.items():
                    walk = "<random>" in path
                    targets = [base + ("/v1/trends" if walk else path) for base in bases]
                    runs[name].append(
                        measure(
                            pids,
                            store_pid,
                            targets,
                            key,
                            args.connections,
                            args.duration_s,
                            script if walk else None,
                        )
                    )
                    load.append(os.getloadavg()[0])
            results = {name: medians(r) for name, r in runs.items()}
        finally:
            for processes in replicas:  # then killed, if still draining queued requests
                processes.stop(timeout_s=30)
    print(
        f"{args.products} products stored in {fill_s:.1f} s; {args.replicas} replica(s), "
        f"wrk -c{args.connections} in all, "
        f"{args.duration_s} s per scenario, medians of {args.runs} runs; load average "
        f"{min(load):.1f}-{max(load):.1f} on {os.cpu_count()} CPUs"
    )
    print(
        f"{'scenario':<10} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'req/CPU-s':>10} "
        f"{'+store':>8} "
        f"{'non-2xx':>8}"
    )
    for name, r in results.items():
        print(
            f"{name:<10} {r['requests_per_s']:>9} {r['p50_ms']:>8} {r['p99_ms']:>8} "
            f"{r['requests_per_api_cpu_s']:>10} {r['requests_per_cpu_s']:>8} {r['non_2xx']:>8}"
        )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "products": args.products,
                "store": make_url(url).get_backend_name(),
                "replicas": args.replicas,
                "connections": args.connections,
                "duration_s": args.duration_s,
                "runs": args.runs,
                "fill_s": round(fill_s, 1),
                "cpus": os.cpu_count(),
                "load_average_1m": [round(x, 1) for x in load],
                "scenarios": {n: {"path": SCENARIOS[n], **r} for n, r in results.items()},
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
