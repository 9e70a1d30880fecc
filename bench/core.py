"""Throughput of the ingest core alone (decode, validate, dedup, window, features), no Kafka.

    python -m bench.core --json bench/results/core.json [--scenario small] [--batch-lines N]

Replays simulated events held in memory through one PartitionProcessor per partition and
reports events/s per batch size as the median of `--repeats` runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from services.model.baseline import GrowthRatioScorer
from services.pipeline import LocalPipeline
from services.simulator import simulate


def run_once(lines: list[bytes], batch_lines: int) -> float:
    pipeline = LocalPipeline(GrowthRatioScorer(), lambda _: None, partitions=1)
    start = time.perf_counter()
    for offset in range(0, len(lines), batch_lines):
        pipeline.submit(lines[offset : offset + batch_lines])
    return time.perf_counter() - start


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
        seconds = statistics.median(run_once(lines, batch) for _ in range(args.repeats))
        results.append(
            {
                "batch_lines": batch,
                "events": len(lines),
                "seconds": round(seconds, 3),
                "events_per_s": round(len(lines) / seconds),
            }
        )
    print(f"{'batch lines':>12} {'events':>10} {'seconds':>8} {'events/s':>10}")
    for r in results:
        print(f"{r['batch_lines']:>12} {r['events']:>10} {r['seconds']:>8} {r['events_per_s']:>10}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"scenario": args.scenario, "results": results}, indent=2))


if __name__ == "__main__":
    main()
