"""Detection on views-only counter sources: the model against the day-over-week ratio, per kind.

Issue 22's bar for views-only sources: at the growth ratio's best precision, the model
has more recall; at any recall the ratio reaches, the model is at least as precise. This
sweeps both on the same replayed rows, through the live alert engine, and scores them
per source kind (`daily` or `hourly` polled counters, from the truth's `counter` field):

* the model's confident tier at thresholds `MODEL_THRESHOLDS` (heads-up off), as the
  version stores it (with its ratio fallback for daily counters, if any) and alone;
* the growth ratio 24h/week (the last day over the product's mean day before it) at
  `RATIOS`, after 48 h of history and `--min-events` events in the day.

```sh
python -m bench.counter_sources --model DIR --seed 32 [--seed ...] [--products 250] \
    [--shapes stepwise,stalled] [--json FILE]
python -m bench.counter_sources --model DIR --events FILE --truth FILE --kind daily \
    --min-events 1000 [--json FILE]
```

Runs are simulated and replayed into `--work` (default `var/eval`, one partition), as
`pantau evaluate` does, and shared with it. Not a timed benchmark: a measurement.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import polars as pl

from services.evaluation.alerting import run_alerts
from services.evaluation.data import Run, prepare_run
from services.evaluation.history import prepare_history_run
from services.evaluation.matching import score_alerts
from services.evaluation.tuning import rules_at, score_run
from services.model.baseline import COLD_START_MIN_HISTORY_H, GrowthRatioScorer
from services.model.registry import load_version
from services.model.scorer import Scorer
from services.simulator import with_products, with_shapes
from shared.alerts import AlertRules
from shared.settings import AlertSettings

MODEL_THRESHOLDS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.56, 0.6, 0.7, 0.8)
RATIOS = (1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 12.0, 16.0, 24.0)
KEPT = ("alert_episodes", "precision", "recall", "caught_early", "viral_episodes", "early")
SUMMED = ("alert_episodes", "early", "false", "caught_early", "viral_episodes", "product_days")
KEPT_LEAD = ("lead_h_median", "false_per_1000_product_days", "false", "product_days")


def confident_only(threshold: float) -> AlertRules:
    return dataclasses.replace(rules_at(threshold), heads_up_threshold=None)


def of_kind(truth: dict[str, Any], kind: str | None) -> dict[str, Any]:
    """The truth of one source kind's products (None: all of them)."""
    if kind is None:
        return truth
    products = {k: p for k, p in truth["products"].items() if p.get("counter", kind) == kind}
    return {**truth, "products": products}


def curve(
    scores: pl.DataFrame, truths: dict[str, dict[str, Any]], knobs: list[tuple[float, float]]
) -> dict[str, list[dict[str, Any]]]:
    """Per kind, the figures at each (knob, threshold)."""
    out: dict[str, list[dict[str, Any]]] = {kind: [] for kind in truths}
    for knob, threshold in knobs:
        alerts = run_alerts(scores, confident_only(threshold))
        for kind, truth in truths.items():
            mine = alerts.filter(pl.col("product_id").is_in(list(truth["products"])))
            overall = score_alerts(mine, truth)["overall"]
            out[kind].append({"knob": knob, **{k: overall.get(k) for k in KEPT + KEPT_LEAD}})
    return out


def at_live_rules(
    scores: pl.DataFrame, truths: dict[str, dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Per kind, what a seller gets at the live alert rules (`PANTAU_ALERT_*`, both tiers):
    the confident tier, the heads-up tier and the first alert of either."""
    alerts = run_alerts(scores, AlertRules.from_settings(AlertSettings()))
    out = {}
    for kind, truth in truths.items():
        mine = alerts.filter(pl.col("product_id").is_in(list(truth["products"])))
        tiers = {
            "confident": mine.filter(pl.col("tier") == "confident"),
            "heads_up": mine.filter(pl.col("tier") == "heads_up"),
            "either": mine,
        }
        out[kind] = {
            tier: {k: score_alerts(a, truth)["overall"].get(k) for k in KEPT + KEPT_LEAD}
            for tier, a in tiers.items()
        }
    return out


def against_ratio(model: list[dict[str, Any]], ratio: list[dict[str, Any]]) -> dict[str, Any]:
    """The bar: the model's recall at the ratio's best precision, and the ratio points where
    the model, at a recall at least the ratio's, is less precise (and those at a recall the
    model's sweep never reaches, where the two cannot be compared)."""
    ratio = [p for p in ratio if p["precision"] is not None and p["alert_episodes"]]
    model = [p for p in model if p["precision"] is not None and p["alert_episodes"]]
    if not ratio:
        return {}
    best = max(ratio, key=lambda p: (p["precision"], p["recall"]))
    at_best = [p["recall"] for p in model if p["precision"] >= best["precision"]]
    worse, beyond = [], []
    for point in ratio:
        matched = [p["precision"] for p in model if p["recall"] >= point["recall"]]
        if not matched:  # a recall the model's sweep never reaches: no equal recall
            beyond.append(point["knob"])
        elif max(matched) < point["precision"]:
            worse.append(
                {
                    "ratio": point["knob"],
                    "recall": point["recall"],
                    "precision": point["precision"],
                    "model_precision": max(matched),
                }
            )
    return {
        "ratio_best_precision": best["precision"],
        "ratio_recall_there": best["recall"],
        "ratio_at": best["knob"],
        "model_recall_there": max(at_best) if at_best else 0.0,
        "more_recall_at_best_precision": bool(at_best) and max(at_best) > best["recall"],
        "ratio_points_more_precise_at_equal_recall": worse,
        "ratio_points_beyond_model_recall": beyond,
    }


def measure(run: Run, scorers: dict[str, Scorer], kinds: list[str], min_events: float) -> dict:
    truths = {kind: of_kind(run.truth, kind) for kind in kinds}
    ratio = GrowthRatioScorer(
        1.0, window="24h", min_history_h=COLD_START_MIN_HISTORY_H, min_events_24h=min_events
    )
    started = time.perf_counter()
    curves: dict[str, dict[str, list[dict[str, Any]]]] = {}
    curves["growth ratio 24h/week"] = curve(
        score_run(ratio, run, ratio.columns), truths, [(r, r * r / (r * r + 1)) for r in RATIOS]
    )
    live: dict[str, dict[str, dict[str, Any]]] = {}
    for name, scorer in scorers.items():
        scores = score_run(scorer, run, None)
        curves[name] = curve(scores, truths, [(t, t) for t in MODEL_THRESHOLDS])
        live[name] = at_live_rules(scores, truths)
    bars = {
        kind: {
            name: against_ratio(c[kind], curves["growth ratio 24h/week"][kind])
            for name, c in curves.items()
            if name != "growth ratio 24h/week"
        }
        for kind in kinds
    }
    return {
        "run": f"{run.scenario}-{run.seed}",
        "viral_episodes": {
            k: curves["growth ratio 24h/week"][k][0]["viral_episodes"] for k in kinds
        },
        "curves": curves,
        "bar": bars,
        "live": live,
        "seconds": round(time.perf_counter() - started, 1),
    }


def _pooled_point(knob: float | None, points: list[dict[str, Any]]) -> dict[str, Any]:
    sums = {k: sum(p[k] for p in points) for k in SUMMED}
    alerts, virals = sums["alert_episodes"], sums["viral_episodes"]
    return {
        "knob": knob,
        **sums,
        "precision": sums["early"] / alerts if alerts else None,
        "recall": sums["caught_early"] / virals if virals else None,
        "false_per_1000_product_days": 1000 * sums["false"] / sums["product_days"],
        "lead_h_median_per_run": [p["lead_h_median"] for p in points],
    }


def pooled(runs: list[dict[str, Any]], kinds: list[str]) -> dict[str, Any]:
    """Every run's alert and viral episodes added up, per kind, method and knob (precision,
    recall and false alerts of the runs together; leads stay per run)."""
    curves: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for name in runs[0]["curves"]:
        curves[name] = {}
        for kind in kinds:
            points = []
            for i, first in enumerate(runs[0]["curves"][name][kind]):
                at_knob = [r["curves"][name][kind][i] for r in runs]
                points.append(_pooled_point(first["knob"], at_knob))
            curves[name][kind] = points
    ratio = curves["growth ratio 24h/week"]
    bars = {
        kind: {n: against_ratio(c[kind], ratio[kind]) for n, c in curves.items() if c is not ratio}
        for kind in kinds
    }
    live = {
        name: {
            kind: {
                tier: _pooled_point(None, [r["live"][name][kind][tier] for r in runs])
                for tier in runs[0]["live"][name][kind]
            }
            for kind in kinds
        }
        for name in runs[0]["live"]
    }
    return {
        "live": live,
        "run": "+".join(r["run"] for r in runs),
        "viral_episodes": {k: ratio[k][0]["viral_episodes"] for k in kinds},
        "curves": curves,
        "bar": bars,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--seed", type=int, action="append", default=[])
    ap.add_argument("--scenario", default="counters")
    ap.add_argument("--products", type=int, default=250)
    ap.add_argument("--shapes", default="stepwise,stalled")
    ap.add_argument("--events", type=Path)
    ap.add_argument("--truth", type=Path)
    ap.add_argument("--kind", action="append", default=None, help="daily, hourly (default both)")
    ap.add_argument("--min-events", type=float, default=0.0)
    ap.add_argument("--work", type=Path, default=Path("var/eval"))
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    kinds = args.kind or ["daily", "hourly"]
    stored = load_version(args.model, compile=False)
    alone = load_version(args.model, compile=False)
    alone.fallback = None
    scorers: dict[str, Scorer] = {"model": stored}
    if stored.fallback is not None:
        scorers["model alone (no ratio fallback)"] = alone
    if args.events is not None:
        runs = [prepare_history_run(args.events, args.truth, args.work, 1)]
    else:
        cfg = with_products(args.scenario, args.products)
        cfg = with_shapes(cfg, tuple(args.shapes.split(",")) if args.shapes else None)
        runs = [prepare_run(cfg, seed, args.work, 1) for seed in args.seed]
    report = {
        "model": str(args.model),
        "version": stored.version,
        "min_events_24h": args.min_events,
        "runs": [measure(run, scorers, kinds, args.min_events) for run in runs],
    }
    if len(runs) > 1:
        report["pooled"] = pooled(report["runs"], kinds)
    for r in [*report["runs"], *([report["pooled"]] if "pooled" in report else [])]:
        print(r["run"], r["viral_episodes"])
        for kind in kinds:
            for name, c in r["curves"].items():
                pts = " ".join(
                    f"{p['knob']:g}:{(p['precision'] or 0):.2f}/{(p['recall'] or 0):.2f}"
                    for p in c[kind]
                )
                print(f"  {kind:6} {name[:28]:28} {pts}")
            for name, bar in r["bar"][kind].items():
                print(f"  {kind:6} bar {name}: {json.dumps(bar)}")
            for name, tiers in r["live"].items():
                for tier, p in tiers[kind].items():
                    print(f"  {kind:6} live {name[:28]:28} {tier:9} {json.dumps(p)}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
