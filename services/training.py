"""Training data from runs: simulate or replay events through the live cores, then fit.

Orchestration above the model package: `services.model.train` fits a model from feature
frames; this module makes those frames, from simulated scenarios (the runs `pantau
evaluate` prepares and caches, so both share them) or from NDJSON event files replayed
through the live ingest cores. It also builds the default model that ships in the
package (`build_default`, `pantau model build-default`) from a fixed recipe.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import tempfile
import time
from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from services.evaluation.data import prepare_run
from services.model.horizons import HEADS_UP_FILE
from services.model.registry import DEFAULT_DIR
from services.model.train import TrainConfig, labelled_runs, train_rows
from services.replay import replay_features
from services.simulator import ScenarioConfig, get_scenario, with_products

# The shipped default model's recipe: two `standard` and two `shapes` months at a quarter of
# the catalogue, so it builds in minutes on two busy cores. Seed 1 (the held-out months of
# docs/model.md) and seeds over 200 stay free for evaluation (`pantau evaluate` refuses a
# model's training seed). Fewer rounds than training's default keep the files small; two
# threads because LightGBM's sums, and so its trees, can differ with the thread count.
DEFAULT_RUNS: tuple[tuple[str, int, int], ...] = (
    ("standard", 250, 2),
    ("standard", 250, 3),
    ("shapes", 250, 2),
    ("shapes", 250, 3),
)
# The time split cuts every run's rows at the same instants, so every run covers the same
# month: the first run's (a `shapes` month starts in April and would leave validation in
# the gap between the months).
DEFAULT_START = get_scenario(DEFAULT_RUNS[0][0]).start
DEFAULT_PARTITIONS = 1
DEFAULT_CONFIG = TrainConfig(num_boost_round=200, num_threads=2, seed=0)
DEFAULT_FILES = ("model.txt", HEADS_UP_FILE, "metadata.json")


def train_from_runs(
    runs: Sequence[tuple[str | ScenarioConfig, int]],
    out: Path,
    progress: bool = True,
    work: Path = Path("var/eval"),
    cfg: TrainConfig | None = None,
    partitions: int = 4,
) -> Path:
    """Simulate and replay each (scenario, seed) run (cached under `work`, shared with
    `pantau evaluate`), then train; a scenario is a preset name or a `ScenarioConfig`."""
    cfg = cfg or TrainConfig()
    names = [str(getattr(scenario, "name", scenario)) for scenario, _ in runs]
    started = time.perf_counter()

    def frames() -> Iterable[tuple[str, pl.DataFrame]]:
        for name, (scenario, seed) in zip(names, runs, strict=True):
            run = prepare_run(scenario, seed, work, partitions, progress)
            yield f"{name}-{seed}", run.features

    rows = labelled_runs(frames(), cfg)
    seeds = [seed for _, seed in runs]
    source: dict[str, Any] = {"kind": "scenario"}
    if len(set(names)) == 1:
        source |= {"scenario": names[0], "seeds": seeds}
    else:
        source |= {"runs": [f"{n}-{s}" for n, s in zip(names, seeds, strict=True)]}
    source["prepare_s"] = round(time.perf_counter() - started, 1)
    return train_rows(rows, out, source, seeds, cfg, progress)


def train_from_scenario(
    scenario: str | ScenarioConfig,
    seeds: list[int],
    out: Path,
    progress: bool = True,
    work: Path = Path("var/eval"),
    cfg: TrainConfig | None = None,
    partitions: int = 4,
) -> Path:
    """`train_from_runs` on several seeds of one scenario."""
    runs = [(scenario, seed) for seed in seeds]
    return train_from_runs(runs, out, progress, work, cfg, partitions)


def default_recipe() -> dict[str, Any]:
    """How the default model is built, as stored in its metadata."""
    return {
        "command": "pantau model build-default",
        "runs": [{"scenario": s, "products": n, "seed": seed} for s, n, seed in DEFAULT_RUNS],
        "start": DEFAULT_START.isoformat(),
        "partitions": DEFAULT_PARTITIONS,
    }


def train_default(work: Path, out: Path, progress: bool = True) -> Path:
    """A version trained on the default recipe, written under the registry `out`."""
    runs = [(_starting(with_products(s, n)), seed) for s, n, seed in DEFAULT_RUNS]
    return train_from_runs(runs, out, progress, work, DEFAULT_CONFIG, DEFAULT_PARTITIONS)


def _starting(cfg: ScenarioConfig, start: date = DEFAULT_START) -> ScenarioConfig:
    """`cfg` moved to begin on `start`, named apart so its runs are cached apart."""
    if cfg.start == start:
        return cfg
    return dataclasses.replace(cfg, name=f"{cfg.name}-{start:%Y%m%d}", start=start)


def build_default(
    out: Path = DEFAULT_DIR, work: Path = Path("var/eval"), progress: bool = True
) -> Path:
    """Train the default model on its recipe and write its files to `out` (replacing them):
    the LightGBM text models and the metadata (recipe, seeds, held-out metrics), not the
    test rows, so the package stays small."""
    with tempfile.TemporaryDirectory(prefix="pantau-default-") as tmp:
        trained = train_default(work, Path(tmp), progress)
        meta = json.loads((trained / "metadata.json").read_bytes())
        meta["version"] = "default-" + meta["version"]
        meta["recipe"] = default_recipe()
        (trained / "metadata.json").write_text(json.dumps(meta, indent=2) + "\n")
        out.mkdir(parents=True, exist_ok=True)
        for name in DEFAULT_FILES:
            (out / name).unlink(missing_ok=True)
            if (trained / name).exists():  # no heads-up file when it could not be fitted
                shutil.copyfile(trained / name, out / name)
    return out


def train_from_events(
    files: list[Path], out: Path, progress: bool = True, cfg: TrainConfig | None = None
) -> Path:
    """Replay event files through the live ingest cores, then train."""
    cfg = cfg or TrainConfig()
    runs = ((f.name, replay_features(f, progress=progress)) for f in files)
    source = {"kind": "events", "files": [str(f) for f in files]}
    return train_rows(labelled_runs(runs, cfg), out, source, [], cfg, progress)
