"""The ingest core alone on the catch-up workload: no Kafka, no feature log.

    python -m bench.catchup_core [--partitions 0] [--batch-lines 10000] [--profile OUT]
        [--dump DIR] [--json FILE]

Generates `bench.ingest`'s catch-up stream (2,000,000 events, 10,000 products, 14 days,
seed 7), keeps the lines of the chosen partitions (of 4), and feeds each partition's
lines to its own `PartitionProcessor` in batches of `--batch-lines`, as the ingest
service's polls would. Reports CPU seconds, rows and ticks per partition. `--dump` writes
each partition's feature rows (all ticks, in order) to DIR/partition-P.parquet, to check
that a change to the core leaves them identical; `--profile` writes cProfile stats.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import time
from pathlib import Path

import polars as pl

from bench.ingest import generate
from services.ingest.processor import PartitionProcessor
from shared.clock import wall_clock_ms
from shared.partitioning import partition_for

PARTITIONS = 4


def partition_lines(events: int, products: int, days: float, seed: int) -> dict[int, list[bytes]]:
    """The stream's NDJSON lines per partition, in stream order."""
    stream = generate(events, products, round(days * 24 * 60), seed)
    route = {pid: partition_for(pid, PARTITIONS) for pid in stream["product_id"].unique()}
    stream = stream.with_columns(partition=pl.col("product_id").replace_strict(route))
    return {
        int(partition): part.drop("partition").write_ndjson().encode().rstrip(b"\n").split(b"\n")
        for (partition,), part in stream.partition_by("partition", as_dict=True).items()
    }


def run(partition: int, lines: list[bytes], batch_lines: int) -> tuple[dict, pl.DataFrame]:
    """Feed one partition's lines; its CPU seconds, counts and feature rows."""
    processor = PartitionProcessor(partition)
    now_ms = wall_clock_ms()
    frames: list[pl.DataFrame] = []
    ticks = 0
    start = time.process_time()
    for offset in range(0, len(lines), batch_lines):
        result = processor.submit(lines[offset : offset + batch_lines], now_ms=now_ms)
        ticks += len(result.features)
        frames.extend(f for f in result.features if f.height)
    cpu_s = time.process_time() - start
    rows = pl.concat(frames) if frames else pl.DataFrame()
    stats = {
        "partition": partition,
        "events": len(lines),
        "feature_rows": rows.height,
        "ticks": ticks,
        "cpu_seconds": round(cpu_s, 3),
        "ms_per_tick": round(1000 * cpu_s / max(ticks, 1), 3),
        "events_per_cpu_s": round(len(lines) / cpu_s),
    }
    return stats, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--partitions", type=int, nargs="+", default=[0])
    parser.add_argument("--batch-lines", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--days", type=float, default=14.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", type=Path, help="write cProfile stats here")
    parser.add_argument("--dump", type=Path, help="write feature rows per partition here")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    lines = partition_lines(args.events, args.products, args.days, args.seed)
    results = []
    for partition in args.partitions:
        profiler = cProfile.Profile() if args.profile else None
        if profiler is not None:
            profiler.enable()
        stats, rows = run(partition, lines[partition], args.batch_lines)
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(f"{args.profile}.{partition}")
        results.append(stats)
        print(json.dumps(stats), flush=True)
        if args.dump is not None:
            args.dump.mkdir(parents=True, exist_ok=True)
            rows.write_parquet(args.dump / f"partition-{partition}.parquet")
    if args.json is not None:
        summary = {"load_average": os.getloadavg(), "results": results}
        args.json.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
