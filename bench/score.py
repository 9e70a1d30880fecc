"""Batch scoring throughput of a registered model on one core, no Kafka.

    python -m bench.score --json bench/results/score.json [--model VERSION_DIR] [--no-compile]

Feature rows come from a replayed `small` run (cached under var/eval), tiled to 10k, 100k
and 1M rows. Each size is scored without reasons (probability, score, version only) and
with reasons for the top `--explain-share` of rows (LightGBM `pred_contrib` + phrases).
Reports the median of `--repeats` runs, as wall time and as this process's CPU time
(on a busy machine the second is the fairer single-core figure). Without `--model`, a
model is trained on `small`. Margins come from the compiled model (lleaves) once compiled,
as in the service (the compile time is reported); `--no-compile` measures LightGBM's own
`predict` instead.
"""

from __future__ import annotations

import os

os.environ.setdefault("POLARS_MAX_THREADS", "1")  # one core: set before polars loads

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import polars as pl

from services.evaluation.data import prepare_run
from services.model.registry import load_version
from services.training import train_from_scenario

SIZES = (10_000, 100_000, 1_000_000)


def rows_of(features: pl.DataFrame, n: int) -> pl.DataFrame:
    reps = -(-n // features.height)
    return pl.concat([features] * reps).head(n)


def timed(fn, repeats: int) -> tuple[float, float]:
    """Median wall seconds and median CPU seconds of this process (one thread, so the CPU
    time is what one free core would take; the wall time also counts waiting for it)."""
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, required=True)
    parser.add_argument("--model", type=Path, help="a registered version directory")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--explain-share", type=float, default=0.01)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path("var/eval"))
    parser.add_argument("--no-compile", action="store_true", help="LightGBM's own predict")
    args = parser.parse_args()
    # A stream in steady state: a run's first day is all new products, which the model
    # scores as too new to judge (all tied at the bottom, so a top-share cut takes them all).
    run = prepare_run("small", 1, args.work, partitions=1)
    features = run.features.filter(pl.col("hours_since_first_seen") >= 24)
    model_dir = args.model or train_from_scenario(
        "small", [1], Path("var/bench/models"), progress=False, work=args.work, partitions=1
    )
    scorer = load_version(model_dir, num_threads=1, compile=not args.no_compile)
    compiled = scorer.wait_compiled()
    results = []
    for n in args.sizes:
        batch = rows_of(features, n)
        prob = scorer.probability(batch)
        threshold = float(np.quantile(prob, 1 - args.explain_share))
        plain, plain_cpu = timed(lambda b=batch: scorer.score(b, explain=False), args.repeats)
        scorer.explain_threshold = threshold
        explained, explained_cpu = timed(lambda b=batch: scorer.score(b), args.repeats)
        results.append(
            {
                "rows": n,
                "explained_rows": int((prob >= threshold).sum()),
                "seconds": round(plain, 4),
                "rows_per_s": round(n / plain),
                "rows_per_cpu_s": round(n / plain_cpu),
                "seconds_with_reasons": round(explained, 4),
                "rows_per_s_with_reasons": round(n / explained),
                "rows_per_cpu_s_with_reasons": round(n / explained_cpu),
            }
        )
    predictor = (
        f"compiled (lleaves, {scorer.compile_s:.2f} s to compile)"
        if compiled
        else "LightGBM predict"
    )
    print(f"model {scorer.version}: {scorer.booster.num_trees()} trees, one core, {predictor}")
    print(
        f"{'rows':>10} {'rows/s':>11} {'rows/cpu-s':>11} {'explained':>10} "
        f"{'rows/s reasons':>15} {'rows/cpu-s reasons':>19}"
    )
    for r in results:
        print(
            f"{r['rows']:>10} {r['rows_per_s']:>11,} {r['rows_per_cpu_s']:>11,} "
            f"{r['explained_rows']:>10} {r['rows_per_s_with_reasons']:>15,} "
            f"{r['rows_per_cpu_s_with_reasons']:>19,}"
        )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "model": scorer.version,
        "trees": scorer.booster.num_trees(),
        "features": len(scorer.columns),
        "threads": 1,
        "predictor": "lleaves" if compiled else "lightgbm",
        "compile_s": round(scorer.compile_s, 3) if scorer.compile_s is not None else None,
        "explain_share": args.explain_share,
        "results": results,
    }
    args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
