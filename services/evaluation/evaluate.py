"""`pantau evaluate`: lead time and false alerts of the model and the baselines, held out.

Training and evaluation never share a seed: the baselines are tuned (and the logistic
regression fitted) on a run simulated with `tune_seed`, and every reported figure comes
from a different run, simulated with the evaluation `seed`. A registered model is refused
when its metadata lists the evaluation seed among its training seeds. Both runs go
through the live ingest core (`services.replay`), and alerts through the live engine.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import orjson
import polars as pl

from services.model.registry import load_version
from services.simulator import ScenarioConfig, get_scenario

from .data import Run, prepare_run
from .matching import DEFINITIONS
from .tuning import (
    Method,
    best_knob,
    growth_ratio_method,
    logistic_method,
    model_method,
    rolling_z_method,
    sweep,
    sweep_points,
)


class HeldOutError(ValueError):
    """The evaluation seed was used to train or tune what is being evaluated."""


def training_seeds(metadata: dict[str, Any]) -> set[int]:
    """Seeds a model's metadata.json says it was trained (or validated) on."""
    found: set[int] = set()
    for key in ("training_seeds", "train_seeds", "seeds", "validation_seeds"):
        found.update(int(s) for s in metadata.get(key) or [])
    for key in ("training", "train", "data"):
        nested = metadata.get(key)
        if isinstance(nested, dict):
            found |= training_seeds(nested)
    return found


def load_model(
    model_dir: Path, seed: int | None, ratio_min_events_24h: float | None = None
) -> Method:
    """The registered model in `model_dir`, refused if `seed` was one of its training seeds
    (None: the events are not simulated, so there is no seed to check).
    `ratio_min_events_24h`: the volume floor of its ratio fallback's rows instead of the
    deployment's, so it is held to the same floor as the growth baselines beside it."""
    meta_path = model_dir / "metadata.json"
    if not meta_path.is_file():
        raise ValueError(f"{model_dir}: no metadata.json, so held-out seeds cannot be checked")
    metadata = json.loads(meta_path.read_bytes())
    seeds = training_seeds(metadata)
    if seed is not None and not seeds:
        raise ValueError(f"{meta_path}: lists no training seeds, so held-out cannot be checked")
    if seed is not None and seed in seeds:
        raise HeldOutError(
            f"seed {seed} is a training seed of {model_dir} ({sorted(seeds)}); pick another"
        )
    scorer = load_version(model_dir)
    label = str(getattr(scorer, "version", model_dir.name))
    if ratio_min_events_24h is not None and scorer.fallback is not None:
        scorer.fallback = replace(scorer.fallback, min_events_24h=ratio_min_events_24h)
        label += f" (its ratio rows >= {ratio_min_events_24h:g} events a day)"
    return model_method(scorer, label)


def _method_report(
    method: Method, train: Run, test: Run, tuned: bool
) -> tuple[dict[str, Any], pl.DataFrame]:
    started = time.perf_counter()
    train_sweep = sweep_points(sweep(method, train)) if tuned else []
    chosen = best_knob(train_sweep) if tuned else 0
    results = sweep(method, test)
    result, knob = results[chosen], method.knobs[chosen]
    report = {
        "label": method.label,
        "knob": knob.name,
        "value": knob.value,
        "rules": asdict(knob.rules),
        "tuned_on_seed": train.seed if tuned else None,
        "overall": result["overall"],
        "per_decoy_kind": result["per_decoy_kind"],
        **({"per_tier": result["per_tier"]} if "per_tier" in result else {}),
        "tuning_sweep": train_sweep,
        "evaluation_sweep": sweep_points(results),
        "seconds": round(time.perf_counter() - started, 2),
    }
    return report, result["alerts"]


def evaluate(
    scenario: str | ScenarioConfig,
    seed: int,
    root: Path = Path("var/eval"),
    model_dir: Path | None = None,
    tune_seed: int | None = None,
    partitions: int = 4,
    progress: bool = False,
) -> tuple[dict[str, Any], dict[str, pl.DataFrame], Run]:
    """The report, each method's alerts on the evaluation run, and that run."""
    cfg = get_scenario(scenario)
    tune_seed = seed + 1 if tune_seed is None else tune_seed
    if tune_seed == seed:
        raise HeldOutError("the tuning seed must differ from the evaluation seed")
    model = load_model(model_dir, seed) if model_dir is not None else None
    train = prepare_run(cfg, tune_seed, root, partitions, progress)
    test = prepare_run(cfg, seed, root, partitions, progress)
    methods = [
        (growth_ratio_method(), True),
        (rolling_z_method(), True),
        (logistic_method(train), True),
    ]
    if model is not None:
        methods.append((model, False))
    reports: dict[str, Any] = {}
    alerts: dict[str, pl.DataFrame] = {}
    for method, tuned in methods:
        reports[method.name], alerts[method.name] = _method_report(method, train, test, tuned)
    report = {
        "scenario": cfg.name,
        "evaluation_seed": seed,
        "tuning_seed": tune_seed,
        "held_out": "training and evaluation never share a seed",
        "model_dir": str(model_dir) if model_dir else None,
        "products": len(test.truth["products"]),
        "days": (test.truth["end_ms"] - test.truth["start_ms"]) / 86_400_000,
        "replay": _replay_cost(train, test, partitions),
        "definitions": DEFINITIONS,
        "methods": reports,
    }
    return report, alerts, test


def _replay_cost(train: Run, test: Run, partitions: int) -> dict[str, Any]:
    """What replaying through the ingest core cost (None when the features were cached)."""
    out: dict[str, Any] = {"partitions": partitions}
    for role, run in (("tuning", train), ("evaluation", test)):
        ticks = run.columns(["tick_ms"])["tick_ms"]
        out[role] = {
            "seed": run.seed,
            "feature_rows": ticks.len(),
            "ticks": ticks.n_unique(),
            "replay_s": run.replay_s,
            "ms_per_tick_partition": (
                round(1000 * run.replay_s / (ticks.n_unique() * partitions), 2)
                if run.replay_s
                else None
            ),
        }
    return out


def write_json(report: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY))
