"""Which scorer the demo runs: a model trained on simulated history, or the shipped default.

The model is trained on `small` runs whose seeds differ from the demo's seed (the demo
never shows a model the very events it was trained on), once: later demos reuse the
version under `models_root` trained on the same seeds.
"""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console

from services.model.registry import load_version, unpromoted_scorer
from services.model.scorer import Scorer

TRAIN_SCENARIO = "small"


def training_seeds(demo_seed: int) -> list[int]:
    """Two seeds, never the demo's own."""
    return [s for s in (1, 2, 3) if s != demo_seed][:2]


def trained_before(models_root: Path, seeds: list[int]) -> Path | None:
    """The newest version under `models_root` trained on `TRAIN_SCENARIO` with `seeds`."""
    found = []
    for meta_path in models_root.glob("*/metadata.json"):
        meta = json.loads(meta_path.read_bytes())
        source = meta.get("source") or {}
        if source.get("scenario") == TRAIN_SCENARIO and meta.get("training_seeds") == seeds:
            found.append((meta.get("created_s", 0), meta_path.parent))
    return max(found)[1] if found else None


def choose_scorer(
    seed: int, train: bool, model_dir: Path | None, models_root: Path, console: Console
) -> Scorer:
    """`model_dir` if given; else a (cached) trained model; else the shipped default model
    (the growth-ratio cold start when that fails to load)."""
    if model_dir is not None:
        return load_version(model_dir)
    if not train:
        return unpromoted_scorer()
    seeds = training_seeds(seed)
    try:
        version = trained_before(models_root, seeds)
        if version is None:
            # Training needs the `train` extra (scikit-learn): imported only when a demo
            # trains, so the demo runs on a lean install with the shipped default.
            from services.training import train_from_scenario

            console.print(
                f"Training a model on simulated history ({TRAIN_SCENARIO}, seeds {seeds}); "
                "later demos reuse it"
            )
            version = train_from_scenario(TRAIN_SCENARIO, seeds, models_root, progress=True)
        scorer = load_version(Path(version))
    except Exception as exc:  # any failure falls back to the shipped default
        fallback = unpromoted_scorer()
        console.print(
            f"[yellow]No trained model ({type(exc).__name__}: {exc}); "
            f"scoring with {fallback.version}[/]"
        )
        return fallback
    console.print(f"Model {scorer.version} (trained on {TRAIN_SCENARIO} seeds {seeds})")
    return scorer
