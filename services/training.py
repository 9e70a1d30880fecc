"""Training data from runs: simulate or replay events through the live cores, then fit.

Orchestration above the model package: `services.model.train` fits a model from feature
frames; this module makes those frames, from a simulated scenario (the runs `pantau
evaluate` prepares and caches, so both share them) or from NDJSON event files replayed
through the live ingest cores.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path

import polars as pl

from services.evaluation.data import prepare_run
from services.model.train import TrainConfig, labelled_runs, train_rows
from services.replay import replay_features
from services.simulator import ScenarioConfig


def train_from_scenario(
    scenario: str | ScenarioConfig,
    seeds: list[int],
    out: Path,
    progress: bool = True,
    work: Path = Path("var/eval"),
    cfg: TrainConfig | None = None,
    partitions: int = 4,
) -> Path:
    """Simulate and replay each seed (cached under `work`, shared with `pantau evaluate`),
    then train; `scenario` is a preset name or a `ScenarioConfig`."""
    cfg = cfg or TrainConfig()
    name = getattr(scenario, "name", scenario)
    started = time.perf_counter()

    def runs() -> Iterable[tuple[str, pl.DataFrame]]:
        for seed in seeds:
            run = prepare_run(scenario, seed, work, partitions, progress)
            yield f"{name}-{seed}", run.features

    rows = labelled_runs(runs(), cfg)
    source = {
        "kind": "scenario",
        "scenario": name,
        "seeds": list(seeds),
        "prepare_s": round(time.perf_counter() - started, 1),
    }
    return train_rows(rows, out, source, list(seeds), cfg, progress)


def train_from_events(
    files: list[Path], out: Path, progress: bool = True, cfg: TrainConfig | None = None
) -> Path:
    """Replay event files through the live ingest cores, then train."""
    cfg = cfg or TrainConfig()
    runs = ((f.name, replay_features(f, progress=progress)) for f in files)
    source = {"kind": "events", "files": [str(f) for f in files]}
    return train_rows(labelled_runs(runs, cfg), out, source, [], cfg, progress)
