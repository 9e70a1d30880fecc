"""Text matcher throughput on one core, and its precision and recall on the labelled set.

    python -m bench.matcher --json bench/results/matcher.json [--posts 1000000]

The labelled posts (tests/data/posts_labelled.jsonl) are repeated to `--posts` and
perturbed so that words vary the way a real stream's do: each copy gains a price, a
count and a made-up word, and a share get shouted (upper case, stretched letters), so
the matcher sees fresh distinct tokens in every batch, not one cached set. Posts go
through one `Matcher` in batches of `--batch` (a connector's poll or an import chunk);
the figure is posts per second of this process's CPU time over all batches, the first
(cold caches) included. Precision and recall are reported per split of the labelled set.
"""

from __future__ import annotations

import os

os.environ.setdefault("POLARS_MAX_THREADS", "1")  # one core: set before polars loads

import argparse
import json
import time
from pathlib import Path

import numpy as np
import polars as pl

from shared.catalogue import read_catalogue_csv
from shared.text.matcher import Matcher
from shared.text.quality import match_quality

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"


def perturbed(texts: pl.Series, n: int, seed: int = 7) -> pl.Series:
    rng = np.random.default_rng(seed)
    base = pl.Series(np.resize(texts.to_numpy(), n), dtype=pl.String)
    price = pl.Series(rng.integers(5, 500, n)).cast(pl.String) + "rb"
    count = pl.Series(rng.integers(1, 99, n)).cast(pl.String) + "pcs"
    syllables = np.array(["ka", "lo", "mi", "ru", "se", "ta", "ng", "pu", "di", "wa"])
    made_up = pl.Series(
        ["".join(s) for s in syllables[rng.integers(0, 10, (n, 4))]], dtype=pl.String
    )
    shout = pl.Series(rng.random(n) < 0.1)
    frame = pl.DataFrame({"t": base, "p": price, "c": count, "m": made_up, "s": shout})
    text = pl.concat_str("t", "p", "c", "m", separator=" ")
    loud = text.str.to_uppercase().str.replace_all("A", "AAA")
    return frame.select(pl.when("s").then(loud).otherwise(text)).to_series()


def quality(matcher: Matcher, posts: pl.DataFrame) -> dict[str, float | int]:
    truth = (
        posts.with_row_index("row")
        .select("row", pl.col("products").alias("product_id"))
        .explode("product_id")
        .drop_nulls()
    )
    q = match_quality(matcher.match(posts["text"]), truth)
    return {
        "posts": posts.height,
        "pairs": q.true_positives + q.false_negatives,
        "precision": round(q.precision, 4),
        "recall": round(q.recall, 4),
        "false_positives": q.false_positives,
        "false_negatives": q.false_negatives,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=100_000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    labelled = pl.read_ndjson(DATA / "posts_labelled.jsonl")
    catalogue = read_catalogue_csv(DATA / "catalogue.csv", version=1)
    started = time.process_time()
    matcher = Matcher(catalogue)
    build_s = time.process_time() - started
    texts = perturbed(labelled["text"], args.posts)
    matched = 0
    cpu = time.process_time()
    wall = time.perf_counter()
    for start in range(0, texts.len(), args.batch):
        matched += matcher.match(texts.slice(start, args.batch)).height
    cpu_s = time.process_time() - cpu
    wall_s = time.perf_counter() - wall
    result = {
        "posts": texts.len(),
        "batch": args.batch,
        "polars_threads": pl.thread_pool_size(),
        "catalogue_products": len(catalogue.products),
        "build_s": round(build_s, 3),
        "cpu_s": round(cpu_s, 3),
        "wall_s": round(wall_s, 3),
        "posts_per_s_cpu": round(texts.len() / cpu_s),
        "posts_per_s_wall": round(texts.len() / wall_s),
        "matches": matched,
        "quality": {
            split: quality(Matcher(catalogue), labelled.filter(pl.col("split") == split))
            for split in ("dev", "held_out")
        },
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
