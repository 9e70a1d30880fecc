"""Both alert tiers of a recipe on tuning months, without registering a model.

Trains the default model's recipe (`services.training.DEFAULT_RECIPE`, optionally with
another heads-up distance or round cap) in memory on its cached runs, or loads a saved
model (`--model`), scores tuning months of `standard` at 250 products through the live
scorer and alert engine, and prints each tier's precision, recall before the peak and
median lead per month over a grid of thresholds; then, at the live alert rules, every
confident alert episode that was not early (what it fell on), and every viral episode's
highest probabilities (what a miss stopped at) and whether its source is a views-only
counter. With several months, the grid again over all of them pooled (forty rises give a
steadier median lead than one month's ten). Seeds of the recipe are refused; the
held-out months of docs/model.md (`standard` 202 and 204-210; `shapes` 31 and 37-39) are
refused unless `--held-out` says they are meant.

    python -m bench.tiers --seed 203 --seed 6 --seed 7
    python -m bench.tiers --seed 203 --seed 6 --seed 7 --model services/model/default
    python -m bench.tiers --seed 203 --heads-up-within-h 72 --rounds 600
    python -m bench.tiers --seed 203 --seed 6 --seed 7 --heads-up 0.55 \
        --heads-up-without-creators 0.5
    python -m bench.tiers --scenario shapes --shapes stepwise,stalled --seed 32 \
        --model services/model/default
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path
from typing import Any

import polars as pl

from services.evaluation.alerting import run_alerts
from services.evaluation.data import Run, prepare_run
from services.evaluation.matching import (
    alert_episodes,
    classify_episodes,
    pooled,
    viral_episodes,
)
from services.evaluation.tuning import REARM_RATIO, score_run, score_tiers
from services.model.calibration import calibrations
from services.model.labels import HOUR_MS, HeadsUpSpec
from services.model.lgbm import LightGBMScorer
from services.model.registry import load_version
from services.model.train import TrainConfig, fit_horizons, labelled_runs
from services.simulator import with_products, with_shapes
from services.training import DEFAULT_RECIPE, run_frames
from shared.alerts import AlertRules

# Judged once per model, never tuned on: `standard` months, and `shapes` months of the
# families the default never trained on (stepwise, stalled; its tuning month is 32).
HELD_OUT_SEEDS = {"standard": (202, *range(204, 211)), "shapes": (31, 37, 38, 39)}
CONFIDENT = (0.3, 0.4, 0.45, 0.5, 0.56)
HEADS_UP = (0.1, 0.15, 0.18, 0.2, 0.25, 0.3, 0.35)
HEADS_UP_REARM_RATIO = 0.65  # the heads-up's re-arm over threshold at 0.2 (0.13 / 0.2)
LIVE = AlertRules()


def _run(seed: int, work: Path, scenario: str, shapes: tuple[str, ...] | None) -> Run:
    """A 250-product month as `pantau evaluate --products 250` simulates and caches it
    (on the preset's own calendar, not moved onto the recipe's like its training runs)."""
    return prepare_run(with_shapes(with_products(scenario, 250), shapes), seed, work, 1, False)


def train(cfg: TrainConfig, work: Path) -> LightGBMScorer:
    """The recipe's two horizons fitted in memory on its cached runs (each of its presets)."""

    def rows(runs: tuple[tuple[str, int, int], ...]) -> pl.DataFrame:
        return labelled_runs(run_frames(DEFAULT_RECIPE.scenarios(runs), work, 1, False), cfg)

    labelled = rows(DEFAULT_RECIPE.runs)
    more = rows(DEFAULT_RECIPE.heads_up_runs) if DEFAULT_RECIPE.heads_up_runs else None
    started = time.perf_counter()
    booster, calibration, _, report, own, heads_up, entry, _ = fit_horizons(
        labelled, cfg, False, more
    )
    print(
        f"trained in {time.perf_counter() - started:.0f} s: 24 h best round "
        f"{report['best_iteration']}, test AP {report['test']['average_precision']:.3f}, "
        f"calibration top {max(calibration.y):.2f}; heads-up best round "
        f"{entry['metrics']['best_iteration']}, test AP "
        f"{entry['metrics']['test']['average_precision']:.3f}"
    )
    return LightGBMScorer(
        "bench",
        booster,
        list(booster.feature_name()),
        calibration,
        min_history_h=cfg.label.min_history_ms / HOUR_MS,
        heads_up=heads_up,
        fallback=cfg.source_fallback,
        by_source=calibrations(own),
    )


def _figures(metrics: dict[str, object]) -> str:
    p, r, lead = metrics.get("precision"), metrics.get("recall"), metrics.get("lead_h_median")
    fmt = lambda v, f: "-" if v is None else format(v, f)  # noqa: E731
    return f"{metrics.get('alert_episodes')} {fmt(p, '.2f')}/{fmt(r, '.2f')}/{fmt(lead, '.0f')}h"


def grid(
    months: list[tuple[pl.DataFrame, dict[str, Any]]],
    heads_up_grid: tuple[float, ...] = HEADS_UP,
    without_creators: float | None = None,
    confident_without_creators: float | None = LIVE.without_creators_threshold,
) -> None:
    """Tier figures of (scores, truth) months, pooled, over the threshold grid (the
    confident tier's rows without creators at `confident_without_creators`)."""
    own = confident_without_creators
    for threshold in CONFIDENT:
        for heads_up in heads_up_grid:
            rules = AlertRules(
                threshold=threshold,
                rearm_below=threshold * REARM_RATIO,
                without_creators_threshold=own,
                without_creators_rearm_below=(own or 0.0) * REARM_RATIO,
                heads_up_threshold=heads_up,
                heads_up_rearm_below=heads_up * HEADS_UP_REARM_RATIO,
                heads_up_without_creators_threshold=without_creators,
                heads_up_without_creators_rearm_below=(without_creators or 0.0)
                * HEADS_UP_REARM_RATIO,
            )
            alerts, truth = pooled([(run_alerts(s, rules), t) for s, t in months])
            tiers = score_tiers(alerts, truth)
            print(
                f"  confident {threshold:.2f}: {_figures(tiers['overall'])}   heads-up "
                f"{heads_up:.2f}: {_figures(tiers.get('per_tier', {}).get('heads_up', {}))}"
            )


def report(
    scores: pl.DataFrame,
    run: Run,
    heads_up_grid: tuple[float, ...] = HEADS_UP,
    without_creators: float | None = None,
    confident_without_creators: float | None = LIVE.without_creators_threshold,
) -> None:
    """Tier figures over the threshold grid, then each viral episode's highest scores."""
    grid([(scores, run.truth)], heads_up_grid, without_creators, confident_without_creators)
    products = run.truth["products"]
    virals = viral_episodes(run.truth)
    alerts = run_alerts(scores, AlertRules())
    confident = alerts.filter(pl.col("tier") == "confident")
    not_early = classify_episodes(alert_episodes(confident), virals).filter(
        pl.col("outcome") != "early"
    )
    for e in not_early.iter_rows(named=True):
        p = products.get(e["product_id"], {})
        before = confident.filter(
            (pl.col("product_id") == e["product_id"]) & (pl.col("tick_ms") < e["start_ms"])
        )["tick_ms"]
        after_peak = (
            f", {(e['start_ms'] - e['peak_ms']) / HOUR_MS:.0f} h after the peak"
            if e["peak_ms"] is not None
            else ""
        )
        print(
            f"  confident {e['outcome']} alert: {e['product_id']} {p.get('kind')}"
            f"{' views-only counter' if p.get('coarse') else ''}{after_peak}, "
            + (
                f"{(e['start_ms'] - before.max()) / HOUR_MS:.0f} h after its previous alert"
                if before.len()
                else "its first alert"
            )
        )
    for e in virals.iter_rows(named=True):
        rising = scores.filter(
            (pl.col("product_id") == e["product_id"])
            & pl.col("tick_ms").is_between(e["onset_ms"] - 24 * HOUR_MS, e["peak_ms"])
        )
        p = products[e["product_id"]]
        print(
            f"  {e['product_id']} build-up {(e['peak_ms'] - e['onset_ms']) / HOUR_MS:.0f} h "
            f"{'views-only counter' if p.get('coarse') else 'per-action stream'}"
            f"{' weak' if p.get('weak') else ''}: highest 24 h probability "
            f"{rising['probability'].max():.3f} (score {rising['score'].max():.3f}), 72 h "
            f"{rising['probability_72h'].max():.3f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, action="append", required=True)
    parser.add_argument("--scenario", choices=sorted(HELD_OUT_SEEDS), default="standard")
    parser.add_argument(
        "--shapes", help="viral rises only of these shape families, comma-separated"
    )
    parser.add_argument("--heads-up-within-h", type=int, default=48)
    parser.add_argument("--rounds", type=int, default=DEFAULT_RECIPE.config.num_boost_round)
    parser.add_argument(
        "--heads-up", type=float, action="append", help="heads-up thresholds (default a grid)"
    )
    parser.add_argument(
        "--heads-up-without-creators",
        type=float,
        help="the heads-up threshold of rows without creators (AlertRules)",
    )
    parser.add_argument(
        "--without-creators",
        type=float,
        default=LIVE.without_creators_threshold,
        help="the confident threshold of rows without creators (default: the live one)",
    )
    parser.add_argument("--save", type=Path, help="write each month's scores here")
    parser.add_argument("--work", type=Path, default=Path("var/eval"))
    parser.add_argument("--held-out", action="store_true", help="allow the held-out months")
    parser.add_argument("--model", type=Path, help="a saved model directory instead of training")
    args = parser.parse_args()
    if set(args.seed) & set(DEFAULT_RECIPE.seeds):
        parser.error(f"seeds {DEFAULT_RECIPE.seeds} are the recipe's training months")
    held_out = HELD_OUT_SEEDS[args.scenario]
    if set(args.seed) & set(held_out) and not args.held_out:
        parser.error(f"{args.scenario} seeds {held_out} are the held-out months (--held-out)")
    shapes = tuple(args.shapes.split(",")) if args.shapes else None
    cfg = dataclasses.replace(
        DEFAULT_RECIPE.config,
        heads_up=HeadsUpSpec(within_ms=args.heads_up_within_h * HOUR_MS),
        num_boost_round=args.rounds,
    )
    scorer = load_version(args.model) if args.model else train(cfg, args.work)
    heads_up = tuple(args.heads_up or HEADS_UP)
    months = []
    for seed in args.seed:
        try:
            run = _run(seed, args.work, args.scenario, shapes)
        except ValueError as exc:  # an unknown shape family
            parser.error(str(exc))
        print(f"{run.scenario} seed {seed}")
        scores = score_run(scorer, run, None)
        if args.save:
            args.save.mkdir(parents=True, exist_ok=True)
            scores.write_parquet(args.save / f"scores-{seed}.parquet")
        report(scores, run, heads_up, args.heads_up_without_creators, args.without_creators)
        months.append((scores, run.truth))
    if len(months) > 1:
        print(f"all {len(months)} months pooled")
        grid(months, heads_up, args.heads_up_without_creators, args.without_creators)


if __name__ == "__main__":
    main()
