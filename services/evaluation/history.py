"""`pantau evaluate --events FILE --truth FILE`: any model and the baselines on anyone's data.

A cooperative's labelled history or an analyst's export goes through the same cores as a
simulated run: the events are replayed once through the live ingest core (the feature
rows cached under `work`, keyed by the file), every method scores the same rows, the
live alert engine turns scores into alerts, and `matching` scores them against the truth
(`truth.read_truth`: the simulator's shape or the documented one).

Nothing is tuned on these events: the model runs at the live alert rules and each
baseline at settings fixed in advance (`baseline_methods`), so every figure is held out.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from services.model.baseline import COLD_START_MIN_HISTORY_H, GrowthRatioScorer
from services.replay import read_chunks, replay_features_to
from shared.alerts import AlertRules

from .baselines import RollingZScoreScorer
from .data import Run
from .matching import DEFINITIONS, viral_episodes
from .truth import read_truth
from .tuning import Knob, Method, rules_at, sweep

GROWTH_DAY_RATIOS = (3.0, 5.0)  # docs/evaluation.md; the yardsticks of the YouTube README
GROWTH_6H_RATIO = 4.0  # the services' old fallback midpoint
ROLLING_Z_MIDPOINT_SD = 5.0  # tuned on `standard` seed 2 (docs/evaluation.md)


def prepare_history_run(
    events: Path, truth_path: Path, work: Path, partitions: int = 4, progress: bool = False
) -> Run:
    """The truth read and the events replayed (unless this very file was replayed before)."""
    truth = read_truth(truth_path)
    stat = events.stat()
    key = hashlib.sha256(f"{events.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    cache = work / f"{events.name}-{key.hexdigest()[:12]}" / f"features-p{partitions}.parquet"
    replay_s: float | None = None
    if not cache.exists():
        started = time.perf_counter()
        replay_features_to(events, cache, partitions=partitions, progress=progress)
        replay_s = time.perf_counter() - started
    return Run(events.name, None, truth, cache, replay_s)


def _ratio_knobs(scorer: GrowthRatioScorer, ratios: tuple[float, ...]) -> tuple[Knob, ...]:
    """Alert at growth >= each ratio: one scorer (midpoint 1), a threshold per ratio."""
    return tuple(Knob("ratio", r, lambda: scorer, rules_at(r * r / (r * r + 1))) for r in ratios)


def baseline_methods(min_events_24h: float = 0.0) -> list[Method]:
    """The yardsticks at fixed settings: the day-over-week growth ratio at 3x and 5x (with
    at least `min_events_24h` events in the day), the 6 h ratio at 4x, the rolling z-score.
    The growth ratios wait for two days of a product's history, as the cold start does: a
    product's first day has nothing before it, so every first tick would be a rise."""
    history = {"min_history_h": COLD_START_MIN_HISTORY_H, "min_events_24h": min_events_24h}
    day = GrowthRatioScorer(1.0, window="24h", **history)
    six = GrowthRatioScorer(1.0, window="6h", **history)
    z = RollingZScoreScorer(ROLLING_Z_MIDPOINT_SD)
    return [
        Method(
            "growth_day",
            f"growth ratio 24h/week (>= {min_events_24h:g} events a day)",
            _ratio_knobs(day, GROWTH_DAY_RATIOS),
            day.columns,
        ),
        Method(
            "growth_6h",
            f"growth ratio 6h/24h (>= {min_events_24h:g} events a day)",
            _ratio_knobs(six, (GROWTH_6H_RATIO,)),
            six.columns,
        ),
        Method(
            "rolling_z",
            "rolling z-score (hourly)",
            (Knob("midpoint_sd", ROLLING_Z_MIDPOINT_SD, lambda: z, AlertRules()),),
            ("events_1h", "events_5m"),
        ),
    ]


def evaluate_history(
    events: Path,
    truth_path: Path,
    work: Path = Path("var/eval"),
    model: Method | None = None,
    min_events_24h: float = 0.0,
    partitions: int = 4,
    progress: bool = False,
) -> dict[str, Any]:
    """The report: every method's figures at each of its fixed settings, and the replay cost."""
    run = prepare_history_run(events, truth_path, work, partitions, progress)
    methods = ([model] if model is not None else []) + baseline_methods(min_events_24h)
    points = []
    for method in methods:
        started = time.perf_counter()
        for result in sweep(method, run):
            knob = result["knob"]
            points.append(
                {
                    "method": method.name,
                    "label": method.label,
                    "knob": knob.name,
                    "value": knob.value,
                    "rules": asdict(knob.rules),
                    "overall": result["overall"],
                    "per_decoy_kind": result["per_decoy_kind"],
                    **({"per_tier": result["per_tier"]} if "per_tier" in result else {}),
                }
            )
        points[-1]["seconds"] = round(time.perf_counter() - started, 2)
    ticks = run.columns(["tick_ms"])["tick_ms"]
    first = points[0]["overall"] if points else {}
    return {
        "events": str(events),
        "truth": str(truth_path),
        "products": len(run.truth["products"]),
        "viral_episodes": viral_episodes(run.truth).height,
        "product_days": first.get("product_days"),
        "replay": {
            "partitions": partitions,
            "events": _event_count(events),
            "feature_rows": ticks.len(),
            "ticks": ticks.n_unique(),
            "replay_s": None if run.replay_s is None else round(run.replay_s, 1),
        },
        "definitions": DEFINITIONS,
        "points": points,
    }


def _event_count(events: Path) -> int:
    return sum(len([line for line in lines if line.strip()]) for _, lines in read_chunks(events))
