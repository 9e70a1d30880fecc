"""Simulated runs and their replayed feature rows, cached on disk per (scenario, seed).

Replaying the live ingest core is the slow step (a fixed cost per tick and partition),
so every method under evaluation scores the same cached feature rows instead of
replaying the events once per method. The rows are exactly what `replay_file` feeds its
scorer: `replay_features_to` drives the same `LocalPipeline`, spilling sorted parts to
disk so a month of a thousand products replays in bounded memory.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from services.replay import replay_features_to
from services.simulator import ScenarioConfig, get_scenario, simulate


@dataclass(frozen=True)
class Run:
    """One simulated run: its truth and the feature rows the live ingest built from it."""

    scenario: str
    seed: int
    truth: dict[str, Any]
    features: pl.DataFrame
    replay_s: float | None  # None when the features came from the cache


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
    if not (cache.exists() and cache.stat().st_mtime >= events.stat().st_mtime):
        started = time.perf_counter()
        replay_features_to(events, cache, partitions=partitions, progress=progress)
        replay_s = time.perf_counter() - started
    return Run(cfg.name, seed, truth, pl.read_parquet(cache), replay_s)


def _truth_matches(path: Path, cfg: ScenarioConfig, seed: int) -> bool:
    """A directory is reused only for the same scenario and seed (and catalogue size)."""
    truth = json.loads(path.read_bytes())
    return (
        truth.get("scenario") == cfg.name
        and truth.get("seed") == seed
        and len(truth.get("products", {})) == cfg.n_products
    )
