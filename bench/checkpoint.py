"""Checkpoint save and load time and file size for the ingest bench's stream, no Kafka.

    python -m bench.checkpoint --json bench/results/checkpoint.json [--events N]
        [--products N] [--repeats R]

Folds the ingest bench's synthetic stream (`bench.ingest.generate`: 10,000 products by
default) into one PartitionProcessor, so one checkpoint holds every product, then saves
and loads it `--repeats` times in the current format (named arrays in an .npz archive)
and, as the yardstick, as the pickle of format 5 that earlier versions wrote (written
with the same fsync, read with `pickle.load`; `checkpoint.load` no longer reads pickles).
Figures are medians; the machine's other processes share the cores.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.ingest import generate
from services.ingest import checkpoint
from services.ingest.checkpoint import Checkpoint
from services.ingest.processor import PartitionProcessor
from shared.clock import wall_clock_ms

TOPIC = "bench"


def save_pickle(directory: Path, saved: Checkpoint) -> None:
    with open(checkpoint.file_path(directory, TOPIC, saved.processor.partition), "wb") as f:
        pickle.dump((5, saved), f, protocol=pickle.HIGHEST_PROTOCOL)
        f.flush()
        os.fsync(f.fileno())


def median_s(action: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def load_pickle(directory: Path, saved: Checkpoint) -> object:
    with open(checkpoint.file_path(directory, TOPIC, saved.processor.partition), "rb") as f:
        return pickle.load(f)


def load_arrays(directory: Path, saved: Checkpoint) -> object:
    return checkpoint.load(directory, TOPIC, saved.processor.partition, saved.processor.config)


def measure(
    saved: Checkpoint,
    save: Callable[[Path, Checkpoint], None],
    load: Callable[[Path, Checkpoint], object],
    repeats: int,
) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        save_s = median_s(lambda: save(directory, saved), repeats)
        size = checkpoint.file_path(directory, TOPIC, saved.processor.partition).stat().st_size
        load_s = median_s(lambda: load(directory, saved), repeats)
        assert load(directory, saved) is not None
    return {"save_s": round(save_s, 4), "load_s": round(load_s, 4), "bytes": size}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, required=True)
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--span-minutes", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    frame = generate(args.events, args.products, args.span_minutes, args.seed)
    lines = frame.write_ndjson().encode().rstrip(b"\n").split(b"\n")
    processor = PartitionProcessor(0)
    for start in range(0, len(lines), 100_000):
        processor.submit(lines[start : start + 100_000], now_ms=wall_clock_ms())
    saved = Checkpoint(processor, len(lines))
    result = {
        "events": args.events,
        "active_products": processor.catalog.active_products,
        "state_bytes": processor.state_bytes,
        "arrays": measure(
            saved, lambda d, c: checkpoint.save(d, TOPIC, c), load_arrays, args.repeats
        ),
        "pickle": measure(saved, save_pickle, load_pickle, args.repeats),
    }
    print(json.dumps(result, indent=2))
    args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
