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
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from services.evaluation.data import prepare_run
from services.model.horizons import HEADS_UP_FILE
from services.model.registry import DEFAULT_DIR
from services.model.train import TrainConfig, labelled_runs, train_rows
from services.replay import replay_features
from services.simulator import ScenarioConfig, get_scenario, with_products, with_shapes

_RUN = ("scenario", "products", "seed")


@dataclass(frozen=True)
class Recipe:
    """A fixed way to build a model: simulated (scenario, products, seed) runs, moved onto
    the first run's calendar, replayed through `partitions` partitions, trained with
    `config`."""

    runs: tuple[tuple[str, int, int], ...]
    config: TrainConfig
    partitions: int = 1
    days: int | None = None  # each run's length instead of its preset's
    # Per preset, the shape families its rises are limited to (the others left out).
    shapes: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # More runs for the heads-up horizon alone: its label's early rows are the rarest.
    heads_up_runs: tuple[tuple[str, int, int], ...] = ()

    @property
    def start(self) -> date:
        # The time split cuts every run's rows at the same instants, so every run covers
        # the same month: the first run's.
        return get_scenario(self.runs[0][0]).start

    @property
    def seeds(self) -> list[int]:
        return [seed for _, _, seed in (*self.runs, *self.heads_up_runs)]

    def as_dict(self) -> dict[str, Any]:
        return {
            "command": "pantau model build-default",
            "runs": [dict(zip(_RUN, r, strict=True)) for r in self.runs],
            "start": self.start.isoformat(),
            "partitions": self.partitions,
            **({"days": self.days} if self.days else {}),
            **({"shapes": {k: list(v) for k, v in self.shapes}} if self.shapes else {}),
            **(
                {"heads_up_runs": [dict(zip(_RUN, r, strict=True)) for r in self.heads_up_runs]}
                if self.heads_up_runs
                else {}
            ),
        }

    def scenarios(self, runs: Iterable[tuple[str, int, int]]) -> list[tuple[ScenarioConfig, int]]:
        """(scenario, seed) of `runs` (of this recipe's), on the recipe's calendar."""
        return [(self.scenario(name, n), seed) for name, n, seed in runs]

    def scenario(self, name: str, products: int) -> ScenarioConfig:
        """One run's scenario: the preset at `products`, `days` long, on the recipe's
        calendar (named apart when moved, so its runs are cached apart)."""
        cfg = with_shapes(with_products(name, products), dict(self.shapes).get(name))
        if self.days and self.days != cfg.days:
            cfg = dataclasses.replace(cfg, name=f"{cfg.name}-{self.days}d", days=self.days)
        return _starting(cfg, self.start)


# The recipe the default model had until 7 Dec 2026: `standard` months at a quarter of
# the catalogue, so it builds in minutes on two busy cores. Seed 1 (the held-out months
# of docs/model.md) and seeds over 200 stay free for evaluation (`pantau evaluate`
# refuses a model's training seed). Fewer rounds than training's default keep the files
# small; two threads because LightGBM's sums, and so its trees, can differ with the
# thread count.
STANDARD_RECIPE = Recipe(
    runs=(("standard", 250, 2), ("standard", 250, 3), ("standard", 250, 4), ("standard", 250, 5)),
    config=TrainConfig(num_boost_round=200, num_threads=2, seed=0),
)
# The shipped default model's recipe: the standard months plus two `counters` months
# (every product a daily or hourly polled view counter, docs/model.md "Sources the model
# is not fit for") whose rises are only exponential or logistic, so the other shape
# families stay left out for evaluation; each kind of source calibrated on its own
# validation rows. The heads-up horizon reads the day before, learns from eight more
# `standard` months (seeds 8-15; 6, 7 and 203 are its tuning months) and averages three
# boosters (docs/model.md, "The heads-up lead").
DEFAULT_RECIPE = Recipe(
    runs=(*STANDARD_RECIPE.runs, ("counters", 250, 21), ("counters", 250, 22)),
    config=dataclasses.replace(
        STANDARD_RECIPE.config,
        calibrate_per_source=True,
        heads_up_day_before=True,
        heads_up_members=3,
    ),
    shapes=(("counters", ("exponential", "logistic")),),
    heads_up_runs=tuple(("standard", 250, seed) for seed in range(8, 16)),
)
RECIPES = {"default": DEFAULT_RECIPE, "standard": STANDARD_RECIPE}
# The same code path at test size (`small` at 40 products, seconds to simulate):
# what tests/model/test_default_model.py rebuilds, twice, to check that a build is
# deterministic and that its metrics are the recorded ones.
# Three weeks, so the heads-up horizon (96 h look-ahead) can be split too.
CHECK_RECIPE = Recipe(
    runs=(("small", 40, 2), ("small", 40, 3), ("small", 40, 4)),
    config=TrainConfig(
        num_boost_round=60, num_threads=2, seed=0, heads_up_day_before=True, heads_up_members=2
    ),
    days=20,
    heads_up_runs=(("small", 40, 5),),
)
DEFAULT_FILES = ("model.txt", HEADS_UP_FILE, "metadata.json")


def train_from_runs(
    runs: Sequence[tuple[str | ScenarioConfig, int]],
    out: Path,
    progress: bool = True,
    work: Path = Path("var/eval"),
    cfg: TrainConfig | None = None,
    partitions: int = 4,
    heads_up_runs: Sequence[tuple[str | ScenarioConfig, int]] = (),
) -> Path:
    """Simulate and replay each (scenario, seed) run (cached under `work`, shared with
    `pantau evaluate`), then train; a scenario is a preset name or a `ScenarioConfig`.
    `heads_up_runs` train the heads-up horizon only."""
    cfg = cfg or TrainConfig()
    started = time.perf_counter()
    rows = labelled_runs(run_frames(runs, work, partitions, progress), cfg)
    more = (
        labelled_runs(run_frames(heads_up_runs, work, partitions, progress), cfg)
        if heads_up_runs
        else None
    )
    every = [*runs, *heads_up_runs]
    names = [_name(scenario) for scenario, _ in every]
    seeds = [seed for _, seed in every]
    source: dict[str, Any] = {"kind": "scenario"}
    if len(set(names)) == 1 and not heads_up_runs:
        source |= {"scenario": names[0], "seeds": seeds}
    else:
        source |= {"runs": [f"{n}-{s}" for n, s in zip(names, seeds, strict=True)]}
    source["prepare_s"] = round(time.perf_counter() - started, 1)
    return train_rows(rows, out, source, seeds, cfg, progress, more)


def _name(scenario: str | ScenarioConfig) -> str:
    return str(getattr(scenario, "name", scenario))


def run_frames(
    runs: Sequence[tuple[str | ScenarioConfig, int]], work: Path, partitions: int, progress: bool
) -> Iterable[tuple[str, pl.DataFrame]]:
    """Each run's feature rows named `<scenario>-<seed>`, simulated and replayed on first use
    (cached under `work`)."""
    for scenario, seed in runs:
        yield (
            f"{_name(scenario)}-{seed}",
            prepare_run(scenario, seed, work, partitions, progress).features,
        )


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


def train_default(
    work: Path, out: Path, progress: bool = True, recipe: Recipe = DEFAULT_RECIPE
) -> Path:
    """A version trained on `recipe` (the default model's), written under the registry `out`."""
    runs, more = recipe.scenarios(recipe.runs), recipe.scenarios(recipe.heads_up_runs)
    return train_from_runs(runs, out, progress, work, recipe.config, recipe.partitions, more)


def _starting(cfg: ScenarioConfig, start: date) -> ScenarioConfig:
    """`cfg` moved to begin on `start`, named apart so its runs are cached apart."""
    if cfg.start == start:
        return cfg
    return dataclasses.replace(cfg, name=f"{cfg.name}-{start:%Y%m%d}", start=start)


def build_default(
    out: Path = DEFAULT_DIR,
    work: Path = Path("var/eval"),
    progress: bool = True,
    recipe: Recipe = DEFAULT_RECIPE,
) -> Path:
    """Train the default model on its recipe and write its files to `out` (replacing them):
    the LightGBM text models and the metadata (recipe, seeds, held-out metrics), not the
    test rows, so the package stays small."""
    with tempfile.TemporaryDirectory(prefix="pantau-default-") as tmp:
        trained = train_default(work, Path(tmp), progress, recipe)
        meta = json.loads((trained / "metadata.json").read_bytes())
        meta["version"] = "default-" + meta["version"]
        meta["recipe"] = recipe.as_dict()
        if recipe is not DEFAULT_RECIPE:
            name = next((k for k, r in RECIPES.items() if r is recipe), None)
            meta["recipe"]["command"] += f" --recipe {name}" if name else ""
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
