"""Ingest state over days of event time: does it level off once the horizons are full?

    python -m bench.memory --json bench/results/memory.json [--hours 72]
        [--events-per-s 100] [--products 5000]

A wall-clock soak (`bench.soak`) ends long before the state a live partition keeps is
full: ids are remembered for one to two dedup horizons (24 h each by default), counts
for the retention, creators and regions for a day. This bench feeds one
`PartitionProcessor` the soak's kind of steady stream in event time, a minute per batch,
as fast as the core goes, and records the state's bytes per part (windows, spread, dedup,
catalog) and the process's RSS every event hour.

It reports each part at 24 h, 48 h and the end, and its peak in each event day: once the
horizons are full, the peaks of later days should be equal.
The dedup part scales with the event rate (8 B per id, two horizons at most), the others
with products, creators and regions; the report gives the dedup bound at the soak's rate.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from bench.soak import ACTIONS, rss_bytes
from services.ingest.config import HOUR_MS, WindowConfig
from services.ingest.processor import PartitionProcessor
from shared.regions import PROVINCES

REGIONS = list(PROVINCES)

MINUTE_MS = 60_000


def minute_of_events(
    rng: np.random.Generator, start_ms: int, count: int, popularity: np.ndarray, first_id: int
) -> list[bytes]:
    """One event-time minute of the steady stream, as NDJSON lines in arrival order."""
    products = rng.choice(len(popularity), size=count, p=popularity)
    ts = np.sort(start_ms + rng.integers(0, MINUTE_MS, count))
    index = np.arange(count)
    frame = pl.DataFrame(
        {
            "event_id": [f"m{first_id + i}" for i in range(count)],
            "ts": ts,
            "platform": "tiktok",
            "product_id": [f"soak-{p}" for p in products.tolist()],
            "action": [ACTIONS[i % len(ACTIONS)] for i in index.tolist()],
            "creator_id": [f"c{c}" for c in rng.integers(0, 50_000, count).tolist()],
            "region": [REGIONS[i % len(REGIONS)] for i in index.tolist()],
            "category": [f"cat{p % 7}" for p in products.tolist()],
        }
    )
    return frame.write_ndjson().encode().splitlines()


def state_parts(processor: PartitionProcessor) -> dict[str, int]:
    return {
        "windows": processor.windows.nbytes,
        "spread": processor.spread.nbytes,
        "dedup": processor.dedup.nbytes,
        "catalog": processor.catalog.nbytes,
    }


def run(hours: int, events_per_s: int, products: int, seed: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    popularity = rng.pareto(1.2, products) + 1
    popularity /= popularity.sum()
    processor = PartitionProcessor(0, WindowConfig())
    start_ms = 1_780_000_000_000 - 1_780_000_000_000 % HOUR_MS
    per_minute = events_per_s * 60
    samples: list[dict[str, Any]] = []
    started = time.perf_counter()
    for minute in range(hours * 60):
        at_ms = start_ms + minute * MINUTE_MS
        lines = minute_of_events(rng, at_ms, per_minute, popularity, minute * per_minute)
        processor.submit(lines, now_ms=at_ms + MINUTE_MS)
        if (minute + 1) % 60 == 0:
            sample = {
                "event_hours": (minute + 1) // 60,
                "state_bytes": state_parts(processor),
                "rss_bytes": rss_bytes(os.getpid()),
                "wall_s": round(time.perf_counter() - started, 1),
            }
            samples.append(sample)
            parts = ", ".join(f"{k} {v / 1e6:.1f}" for k, v in sample["state_bytes"].items())
            rss_mb = sample["rss_bytes"] / 1e6
            print(f"{sample['event_hours']:>3} h  {parts} MB  rss {rss_mb:.0f} MB", flush=True)
    return samples


def report(samples: list[dict[str, Any]], events_per_s: int) -> dict[str, Any]:
    """Per part, its size at 24 h, 48 h and the end, and its peak in each event day: the
    dedup part is a saw-tooth (one to two horizons of ids), so flat means equal peaks."""
    by_hour = {s["event_hours"]: s for s in samples}
    parts = [*samples[-1]["state_bytes"], "rss"]

    def mb(sample: dict[str, Any], part: str) -> float:
        value = sample["rss_bytes"] if part == "rss" else sample["state_bytes"][part]
        return round(value / 1e6, 1)

    days = sorted({(s["event_hours"] - 1) // 24 for s in samples})
    return {
        part: {
            "mb_at_24h": mb(by_hour[24], part) if 24 in by_hour else None,
            "mb_at_48h": mb(by_hour[48], part) if 48 in by_hour else None,
            "mb_at_end": mb(samples[-1], part),
            "mb_peak_per_event_day": [
                max(mb(s, part) for s in samples if (s["event_hours"] - 1) // 24 == day)
                for day in days
            ],
        }
        for part in parts
    } | {
        "dedup_bound_mb_per_1000_events_per_s": round(1000 * 2 * 24 * 3600 * 8 / 1e6, 1),
        "dedup_bound_mb_at_this_rate": round(events_per_s * 2 * 24 * 3600 * 8 / 1e6, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hours", type=int, default=72)
    parser.add_argument("--events-per-s", type=int, default=100)
    parser.add_argument("--products", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, default=Path("bench/results/memory.json"))
    args = parser.parse_args()
    samples = run(args.hours, args.events_per_s, args.products, args.seed)
    result = {
        "settings": {k: v for k, v in vars(args).items() if k != "json"},
        "report": report(samples, args.events_per_s),
        "samples": samples,
    }
    print(json.dumps(result["report"], indent=1))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
