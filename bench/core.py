"""Throughput of the ingest core alone (decode, validate, dedup, window, features), no Kafka.

    python -m bench.core --json bench/results/core.json [--scenario small] [--batch-lines N]

Replays simulated events held in memory through one PartitionProcessor per partition and
reports events/s per batch size as the median of `--repeats` runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from services.model.baseline import GrowthRatioScorer
from services.pipeline import LocalPipeline
from services.simulator import simulate


def run_once(lines: list[bytes], batch_lines: int) -> tuple[float, float]:
    """Wall and CPU seconds (all threads; the fairer clock on a shared machine)."""
    pipeline = LocalPipeline(GrowthRatioScorer(), lambda _: None, partitions=1)
    start, start_cpu = time.perf_counter(), time.process_time()
    for offset in range(0, len(lines), batch_lines):
        pipeline.submit(lines[offset : offset + batch_lines])
    return time.perf_counter() - start, time.process_time() - start_cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, required=True)
    parser.add_argument("--scenario", default="small")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--batch-lines", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        summary = simulate(args.scenario, args.seed, Path(tmp), progress=False)
        lines = [ln for ln in summary.events_path.read_bytes().split(b"\n") if ln]
    results = []
    for batch in args.batch_lines:
        runs = [run_once(lines, batch) for _ in range(args.repeats)]
        seconds = statistics.median(wall for wall, _ in runs)
        cpu = statistics.median(cpu for _, cpu in runs)
        results.append(
            {
                "batch_lines": batch,
                "events": len(lines),
                "seconds": round(seconds, 3),
                "events_per_s": round(len(lines) / seconds),
                "cpu_seconds": round(cpu, 3),
                "events_per_cpu_s": round(len(lines) / cpu),
            }
        )
    print(
        f"{'batch lines':>12} {'events':>10} {'seconds':>8} {'events/s':>10}"
        f" {'cpu s':>8} {'ev/cpu s':>9}"
    )
    for r in results:
        print(
            f"{r['batch_lines']:>12} {r['events']:>10} {r['seconds']:>8} {r['events_per_s']:>10}"
            f" {r['cpu_seconds']:>8} {r['events_per_cpu_s']:>9}"
        )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    summary = {"scenario": args.scenario, "load_average": os.getloadavg(), "results": results}
    args.json.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
