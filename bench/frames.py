"""Feature rows as Kafka message values: encode and decode time and size, per format.

    python -m bench.frames --json bench/results/frames.json [--repeats R]

The rows are what the ingest bench's stream (`bench.ingest.generate`, 500,000 events,
10,000 products, 4 partitions) makes the ingest core emit. Each format encodes them in
messages of `shared.kafka.ROWS_PER_MESSAGE` rows, as `frame_to_values` does, and decodes
them back with the feature schema. `arrow-lz4` is the format in use; `ndjson` is the
earlier one. Medians of `--repeats`, wall and CPU seconds of this process.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import polars as pl

from bench.ingest import generate
from services.ingest.processor import PartitionProcessor
from shared.clock import wall_clock_ms
from shared.features import FEATURE_SCHEMA
from shared.kafka import ROWS_PER_MESSAGE, frame_to_values, values_to_frame
from shared.partitioning import partition_for


def feature_rows(events: int, products: int) -> pl.DataFrame:
    stream = generate(events, products, span_minutes=30, seed=7)
    route = {pid: partition_for(pid, 4) for pid in stream["product_id"].unique().to_list()}
    stream = stream.with_columns(partition=pl.col("product_id").replace_strict(route))
    frames = []
    for (partition,), part in stream.partition_by("partition", as_dict=True).items():
        lines = part.drop("partition").write_ndjson().encode().rstrip(b"\n").split(b"\n")
        result = PartitionProcessor(int(partition)).submit(lines, now_ms=wall_clock_ms())
        frames += result.features
    return pl.concat(frames)


def ndjson_values(frame: pl.DataFrame) -> list[bytes]:
    return [
        frame.slice(offset, ROWS_PER_MESSAGE).write_ndjson().encode()
        for offset in range(0, frame.height, ROWS_PER_MESSAGE)
    ]


FORMATS: dict[str, Callable[[pl.DataFrame], list[bytes]]] = {
    "ndjson": ndjson_values,
    "arrow": functools.partial(frame_to_values, compression="uncompressed"),
    "arrow-lz4": frame_to_values,
}


def timed(work: Callable[[], object], repeats: int) -> tuple[float, float, object]:
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        out = work()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, required=True)
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    frame = feature_rows(args.events, args.products)
    results = {}
    print(f"{frame.height} feature rows, {len(frame.columns)} columns")
    print(
        f"{'format':>10} {'MB':>7} {'encode ms':>10} {'cpu ms':>7} {'decode ms':>10} {'cpu ms':>7}"
    )
    for name, encode in FORMATS.items():
        enc_wall, enc_cpu, values = timed(lambda encode=encode: encode(frame), args.repeats)
        dec_wall, dec_cpu, back = timed(
            lambda values=values: values_to_frame(values, FEATURE_SCHEMA), args.repeats
        )
        assert isinstance(back, pl.DataFrame) and back.equals(frame), name
        size = sum(map(len, values))  # type: ignore[arg-type]
        results[name] = {
            "bytes": size,
            "messages": len(values),  # type: ignore[arg-type]
            "encode_s": round(enc_wall, 4),
            "encode_cpu_s": round(enc_cpu, 4),
            "decode_s": round(dec_wall, 4),
            "decode_cpu_s": round(dec_cpu, 4),
        }
        print(
            f"{name:>10} {size / 1e6:7.1f} {enc_wall * 1e3:10.1f} {enc_cpu * 1e3:7.1f}"
            f" {dec_wall * 1e3:10.1f} {dec_cpu * 1e3:7.1f}"
        )
    summary = {
        "rows": frame.height,
        "rows_per_message": ROWS_PER_MESSAGE,
        "repeats": args.repeats,
        "load_average": os.getloadavg(),
        "formats": results,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
