"""Simulated runs and their replayed feature rows, cached on disk per (scenario, seed).

Replaying the live ingest core is the slow step (a fixed cost per tick and partition),
so every method under evaluation scores the same cached feature rows instead of
replaying the events once per method. The rows are exactly what `replay_file` feeds its
scorer: `replay_features_to` drives the same `LocalPipeline`, spilling sorted parts to
disk so a month of a thousand products replays in bounded memory.

A full-size run is ~8.6 million rows of ~600 bytes (over 5 GB in memory), so a `Run`
holds the path to its rows, not the rows: evaluation reads only the columns a method
needs (`columns`), or whole ticks in batches (`batches`), and lets each go when done.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from services.replay import replay_features_to
from services.simulator import ScenarioConfig, get_scenario, simulate
from shared.features import FEATURE_SCHEMA

BATCH_ROWS = 500_000  # ~300 MB of full feature rows; a few dozen MB of lean ones


@dataclass(frozen=True)
class Run:
    """One run of events (simulated, or anyone's file): its truth and the feature rows the
    live ingest built from it."""

    scenario: str  # the simulated scenario, or the events file's name
    seed: int | None  # None: not simulated
    truth: dict[str, Any]  # in `truth.normal_form`
    path: Path  # the cached feature rows, sorted by (tick_ms, product_id)
    replay_s: float | None  # None when the features came from the cache

    @property
    def features(self) -> pl.DataFrame:
        """Every column of every row, read anew on each access (training wants them all)."""
        return pl.read_parquet(self.path)

    def columns(self, names: Sequence[str]) -> pl.DataFrame:
        """Every row, only the columns `names`."""
        return pl.scan_parquet(self.path).select(names).collect()

    def rows(self, positions: np.ndarray, names: Sequence[str]) -> pl.DataFrame:
        """The rows at `positions` (ascending row numbers), only the columns `names`."""
        wanted = pl.Series("row", positions, dtype=pl.UInt32)
        return (
            pl.scan_parquet(self.path, row_index_name="row")
            .filter(pl.col("row").is_in(wanted.implode()))
            .select(names)
            .collect(engine="streaming")
        )

    def batches(self, names: Sequence[str], rows: int = BATCH_ROWS) -> Iterator[pl.DataFrame]:
        """Whole ticks in tick order, about `rows` rows per batch, only the columns `names`.

        This is how the live scorer receives rows (per tick, in tick order), so stateful
        scorers give the same scores as on the whole run, in bounded memory.
        """
        per_tick = pl.scan_parquet(self.path).group_by("tick_ms").len().sort("tick_ms").collect()
        batch = (per_tick["len"].cum_sum() - per_tick["len"]) // rows
        bounds = (
            per_tick.with_columns(batch=batch)
            .group_by("batch", maintain_order=True)
            .agg(first=pl.col("tick_ms").first(), last=pl.col("tick_ms").last())
        )
        scan = pl.scan_parquet(self.path)
        for first, last in bounds.select("first", "last").iter_rows():
            yield scan.filter(pl.col("tick_ms").is_between(first, last)).select(names).collect()


def run_dir(root: Path, scenario: str, seed: int) -> Path:
    return root / f"{scenario}-{seed}"


def prepare_run(
    scenario: str | ScenarioConfig,
    seed: int,
    root: Path,
    partitions: int = 4,
    progress: bool = False,
) -> Run:
    """Simulate (unless already on disk) and replay (unless cached) one run."""
    cfg = get_scenario(scenario)
    out = run_dir(root, cfg.name, seed)
    events, truth_path = out / "events.ndjson", out / "truth.json"
    if not (events.exists() and truth_path.exists() and _truth_matches(truth_path, cfg, seed)):
        simulate(cfg, seed, out, progress=progress)
    truth = json.loads(truth_path.read_bytes())
    cache = out / f"features-p{partitions}.parquet"
    replay_s: float | None = None
    if not _cache_current(cache, events):
        started = time.perf_counter()
        replay_features_to(events, cache, partitions=partitions, progress=progress)
        replay_s = time.perf_counter() - started
    return Run(cfg.name, seed, truth, cache, replay_s)


def _cache_current(cache: Path, events: Path) -> bool:
    """Cached features stand for `events` only if written after them and by a release
    whose feature rows had every column today's have (else: replayed again)."""
    if not (cache.exists() and cache.stat().st_mtime >= events.stat().st_mtime):
        return False
    return set(FEATURE_SCHEMA) <= set(pl.read_parquet_schema(cache))


def _truth_matches(path: Path, cfg: ScenarioConfig, seed: int) -> bool:
    """A directory is reused only for the same scenario and seed (and catalogue size)."""
    truth = json.loads(path.read_bytes())
    return (
        truth.get("scenario") == cfg.name
        and truth.get("seed") == seed
        and len(truth.get("products", {})) == cfg.n_products
    )
